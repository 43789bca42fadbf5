package telegram

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/messagebridge/messagebridge/bot"
	"github.com/messagebridge/messagebridge/store/words"
)

// NotifierConfig configures a Notifier.
type NotifierConfig struct {
	// Token returns the bot token in force ("" while none is set): read at
	// each send, so a token an admin changes applies at once.
	Token func() string
	// APIEndpoint is as in Config.
	APIEndpoint string
	// HTTPClient is optional.
	HTTPClient *http.Client
	// Logger is optional.
	Logger *slog.Logger
}

// Notifier sends messages to Telegram users outside any conversation: how
// a staff member hears that a message they queued failed. Sending needs
// no polling, so any instance may notify while another one polls.
type Notifier struct {
	cfg NotifierConfig
}

// NewNotifier returns a notifier.
func NewNotifier(cfg NotifierConfig) *Notifier { return &Notifier{cfg: cfg} }

// Ready reports whether a usable token is set.
func (n *Notifier) Ready() bool {
	return n.cfg.Token != nil && CheckToken(n.cfg.Token()) == nil
}

// Notify sends text to the Telegram user with id (their user id, which is
// also their private chat with the bot) as one message (cut to 2,000
// characters). It fails when the user has never started a chat with the bot or
// blocked it. Errors never contain the token.
func (n *Notifier) Notify(ctx context.Context, id, text string) error {
	chatID, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return fmt.Errorf("telegram: %q is not a user id", id)
	}
	if strings.TrimSpace(text) == "" {
		return errors.New("telegram: nothing to send")
	}
	token := ""
	if n.cfg.Token != nil {
		token = n.cfg.Token()
	}
	// A transport only for sending: it never polls, so it needs no cursor
	// and no handler.
	t, err := New(Config{Token: token, APIEndpoint: n.cfg.APIEndpoint, HTTPClient: n.cfg.HTTPClient, Logger: n.cfg.Logger},
		noCursors{}, bot.HandlerFunc(func(context.Context, bot.Message) []bot.Reply { return nil }))
	if err != nil {
		return err
	}
	msg := tgbotapi.NewMessage(chatID, words.Cut(text, maxNoticeLen))
	return t.do(ctx, "sendMessage", callTimeout, t.sendAttempts, func(api *tgbotapi.BotAPI) error {
		_, err := api.Send(msg)
		return err
	})
}

// maxNoticeLen bounds a notice, in characters: one message, well within
// Telegram's 4096 UTF-16 units even for characters that take two.
const maxNoticeLen = 2000

// noCursors is the cursor store of a transport that never polls.
type noCursors struct{}

func (noCursors) Cursor(context.Context, string) (int64, bool, error) { return 0, false, nil }
func (noCursors) SetCursor(context.Context, string, int64) error      { return nil }
