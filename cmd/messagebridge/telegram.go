package main

import (
	"context"
	"time"

	"github.com/messagebridge/messagebridge/bot"
	"github.com/messagebridge/messagebridge/bot/telegram"
)

// telegramRecheck is how often the Telegram service looks at its token
// setting: a new token restarts the chat with it, an empty one stops it.
const telegramRecheck = 5 * time.Second

// runTelegram runs the Telegram chat while the telegram.token setting
// holds a token, restarting it when an admin changes the token, until ctx
// is cancelled. Of several instances sharing the database, one polls.
func (m *Main) runTelegram(ctx context.Context) error {
	tick := time.NewTicker(telegramRecheck)
	defer tick.Stop()
	wait := func() bool {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
			return true
		}
	}
	var refused string // a token New refused, not tried again until it changes
	for ctx.Err() == nil {
		token := m.settings.String(ctx, telegram.SettingToken)
		if token == "" || token == refused {
			if !wait() {
				return nil
			}
			continue
		}
		tg, err := telegram.New(telegram.Config{Token: token, APIEndpoint: m.cfg.TelegramAPIEndpoint, Logger: m.log,
			// Handlers finish within the shutdown, before the database closes.
			ShutdownGrace: m.cfg.ShutdownTimeout * 3 / 4}, m.db, m.router)
		if err != nil {
			m.log.Error("telegram: the bot token setting cannot be used", "setting", telegram.SettingToken, "err", err)
			refused = token
			continue
		}
		refused = ""
		runCtx, stop := context.WithCancel(ctx)
		go func() {
			for {
				select {
				case <-runCtx.Done():
					return
				case <-time.After(telegramRecheck):
				}
				if m.settings.String(runCtx, telegram.SettingToken) != token {
					m.log.Info("telegram: the bot token changed; reconnecting", "setting", telegram.SettingToken)
					stop()
					return
				}
			}
		}()
		bot.RunWithLease(runCtx, m.db, "telegram.poll", m.loop.ProcessorID(), leaseTTL, m.log, tg.Run)
		stop()
	}
	return nil
}
