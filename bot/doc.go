// Package bot turns chat traffic (Telegram, WhatsApp, the console) into
// transport-neutral messages for the command router and sends its replies
// back. It knows transports, not commands.
package bot
