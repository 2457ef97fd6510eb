// Stub: the real libsignal (a WhatsApp dependency of @whiskeysockets/baileys) is fetched
// from a git host, unreachable here. The session store never uses it.
module.exports = {};
