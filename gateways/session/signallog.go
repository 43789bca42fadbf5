package session

import signallog "go.mau.fi/libsignal/logger"

// libsignal (under whatsmeow) sets its package logger lazily on first use,
// which is a data race when two sessions create device keys at the same
// moment. It is set here, before anything runs, to a logger that drops its
// debug chatter.
func init() {
	var l signallog.Loggable = quietSignal{}
	signallog.Setup(&l)
}

// quietSignal discards libsignal's log lines; whatsmeow's own logs and
// errors say what matters.
type quietSignal struct{}

func (quietSignal) Debug(caller, message string)   {}
func (quietSignal) Info(caller, message string)    {}
func (quietSignal) Warning(caller, message string) {}
func (quietSignal) Error(caller, message string)   {}
func (quietSignal) Configure(settings string)      {}
