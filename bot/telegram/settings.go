package telegram

import "github.com/messagebridge/messagebridge/store/settings"

// SettingToken is the bot token from @BotFather: set, the Telegram
// transport runs; changed, it restarts with the new one; unset, it stops.
const SettingToken = "telegram.token"

// SettingDefs declares the Telegram transport's settings.
func SettingDefs() []settings.Def {
	return []settings.Def{
		{Key: SettingToken, Secret: true, Env: "MB_TELEGRAM_TOKEN",
			Check: func(v string) error { return CheckToken(v) },
			Help:  "bot token from @BotFather; set, the Telegram chat runs (a change applies within seconds)"},
	}
}
