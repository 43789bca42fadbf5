// Package session is the "linked WhatsApp session" gateway: it sends queue
// deliveries from an ordinary WhatsApp account linked to MessageBridge as a
// companion device (like WhatsApp Web), using go.mau.fi/whatsmeow.
//
// # Pieces
//
//   - Session owns the whatsmeow client and its device store, a SQLite file
//     whatsapp.db in the data directory (whatsmeow supports only SQLite and
//     Postgres, so this file is used even when the main database is MySQL).
//     It connects, and fans every whatsmeow event out to the handlers added
//     with AddHandler, recovering their panics. StartPairing links an
//     account and reports the steps as PairEvent values (QR codes to render
//     with QRPNG or QRText, a phone pairing code, the result), for the
//     `messagebridge whatsapp pair` command and the admin page alike;
//     Status and Logout back `whatsapp status|logout`. WaitLinked lets a
//     running server learn that an account was linked, also by another
//     process, and switches to it.
//   - Sender satisfies queue.Sender. It builds WhatsApp messages for text,
//     image and video deliveries, refuses templates and flows permanently,
//     paces sends with a randomized gap (Pacer), tracks the connection state
//     from events (StateFor) so that a logged-out, replaced or banned number
//     fails fast as sender-blocked, and turns delivery receipts into
//     store.Receipt values (ReceiptsFor).
//   - Inbound passes the messages customers send to the number to the
//     gateway's inbound sink (InboundFor maps one whatsmeow message event),
//     leaving the WhatsApp operator bot's chats on the same account
//     (OperatorChatsSetting) to the bot.
//
// # What the tests do not cover
//
// Pairing and live sends need a real WhatsApp account and a phone; no test
// in this package exercises them. The tests run everything else against a
// fake client: message building, error and event mapping, receipts, pacing,
// the pairing's handling of QR channel items, waiting for a link, and
// opening the SQLite device store (without connecting).
//
// # Risk
//
// WhatsApp bans numbers that send many messages to people who have not
// saved them. A linked session suits small volumes to contacts who expect
// the messages; keep the pacing, and prefer the Cloud API for bulk.
package session
