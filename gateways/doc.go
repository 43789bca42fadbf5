// Package gateways holds one subpackage per sending provider (Meta Cloud
// API, WHAPI, Shiprocket, the linked WhatsApp session, dry-run), each
// speaking its provider's wire protocol behind the queue's sender interface.
package gateways
