package session

import "github.com/messagebridge/messagebridge/bot/whatsapp"

// The WhatsApp operator chat runs on the linked session.
var _ whatsapp.Session = (*Session)(nil)
