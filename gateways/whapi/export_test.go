package whapi

// WebhookPayload is the webhook payload as the handler decodes it, for the
// spec contract test.
type WebhookPayload = webhookPayload
