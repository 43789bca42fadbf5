package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/messagebridge/messagebridge/bot"
	"github.com/messagebridge/messagebridge/bot/console"
	"github.com/messagebridge/messagebridge/bot/telegram"
	"github.com/messagebridge/messagebridge/bot/whatsapp"
	"github.com/messagebridge/messagebridge/commands"
	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/gateways"
	"github.com/messagebridge/messagebridge/gateways/library"
	"github.com/messagebridge/messagebridge/gateways/session"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/queue/campaign"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/media"
	"github.com/messagebridge/messagebridge/store/secretbox"
	"github.com/messagebridge/messagebridge/store/settings"
	"github.com/messagebridge/messagebridge/webadmin"
	"github.com/messagebridge/messagebridge/webadmin/metrics"
)

// keyFileName is the secret key file generated in the data dir when
// MB_SECRET_KEY is not set.
const keyFileName = "secret.key"

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// leaseTTL is how long a chat transport's lease lasts: another instance
// takes over within it when the holder dies.
const leaseTTL = 30 * time.Second

// Main is a running MessageBridge: everything is built by Open, the
// services run under Run, and Close lets go of the database and the
// gateways. serve and chat share it.
type Main struct {
	cfg      Config
	log      *slog.Logger
	db       *store.DB
	settings *settings.Reader
	gset     *gatewaySet
	wa       *session.Session // the linked WhatsApp account: the session gateway and the WhatsApp chat
	gws      *queue.SettingsGateways
	loop     *queue.Loop
	ops      *ops.Service
	router   *commands.Router
	// media keeps the files of images and videos; storage names it (local
	// or s3).
	media   media.Store
	storage string
	metrics *metrics.Metrics
	// pairer pairs the WhatsApp session from the admin page.
	pairer   *session.Pairer
	services services
}

// Open opens the database (migrating it and checking the secret key),
// applies the MB_* variables to the settings, seeds bootstrap admins and
// builds the gateways, the delivery loop, its companion services and the
// operations. Nothing runs until Run.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (_ *Main, err error) {
	if err := ensureDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	box, key, err := loadSecretKey(cfg, log)
	if err != nil {
		return nil, err
	}
	db, err := openStore(ctx, cfg, box, log)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = db.Close()
		}
	}()
	if err := prepareSchema(ctx, cfg, db, log); err != nil {
		return nil, err
	}
	if err := db.VerifySecretKey(ctx); err != nil {
		if errors.Is(err, store.ErrSecretKeyMismatch) {
			return nil, fmt.Errorf("%w: start with the MB_SECRET_KEY (or %s) the secrets were saved with", err, filepath.Join(cfg.DataDir, keyFileName))
		}
		return nil, err
	}
	wa, err := session.Open(ctx, cfg.DataDir, log)
	if err != nil {
		return nil, fmt.Errorf("whatsapp session: %w", err)
	}
	defer func() {
		if err != nil {
			_ = wa.Close()
		}
	}()
	list := gatewayList
	if cfg.gatewayList != nil {
		list = cfg.gatewayList
	}
	defs := list(wa)
	reg, err := newRegistry(defs)
	if err != nil {
		return nil, err
	}
	if err := settings.Seed(ctx, reg, db, cfg.getenv, log); err != nil {
		return nil, err
	}
	for _, id := range cfg.BootstrapAdmins {
		if _, err := db.PutOperator(ctx, id, store.RoleAdmin, "", "MB_BOOTSTRAP_ADMINS"); err != nil {
			return nil, err
		}
	}

	m := &Main{cfg: cfg, log: log, db: db, wa: wa, services: services{log: log}}
	m.settings = settings.NewReader(reg, db, 2*time.Second, log)
	late := &lateOps{}
	if m.gset, err = buildGateways(ctx, defs, gateways.Env{DB: db, Settings: m.settings, Logger: log, Inbound: late}); err != nil {
		return nil, err
	}
	// The first gateway listed is the default until an admin picks
	// another.
	m.gws = queue.NewSettingsGateways(func(ctx context.Context) string {
		return m.settings.String(ctx, queue.SettingActiveGateway)
	}, m.gset.senders, defs[0].Name)
	// The media store is chosen at start (media.store); its other settings
	// apply live.
	m.media, m.storage, err = library.OpenStore(ctx, m.settings, library.StoreOptions{
		LocalDir: filepath.Join(cfg.DataDir, "media"), LinkSecret: mediaLinkSecret(key), Logger: log})
	if err != nil {
		m.gset.close()
		return nil, err
	}
	m.metrics = metrics.New(metricsSource{m}, log)
	tuning := queue.TuningFromSettings(m.settings, m.gset.rates(m.settings))
	m.loop = queue.New(queue.Config{
		Version:  version,
		Tuning:   tuning,
		Library:  library.New(db, m.media, m.storage),
		Observer: m.metrics,
		Secrets:  m.settings.Secrets,
		WindowOf: m.gset.windowOf(),
		Reengage: late,

		// A hold for a paused gateway is decided on the settings as
		// stored, not as cached (a switch may have released the item).
		RefreshSettings: m.settings.Invalidate,

		// At a stop, sends in flight get half the shutdown timeout, then
		// are cut; the outcomes get a quarter more to be written. So the
		// loop is done, and its items are no longer processing, before
		// the shutdown timeout ends and Close lets go of the database.
		DrainTimeout:      cfg.ShutdownTimeout / 2,
		FinalWriteTimeout: cfg.ShutdownTimeout / 4,
	}, db, m.gws, log)
	m.ops = ops.New(db, m.settings, ops.Config{Gateways: m.gset.describe(m.settings), Notify: m.loop.Notify, Paces: m.loop.Paces,
		Media: m.media, MediaStorage: m.storage, Imported: m.metrics.ObserveImport}, log)
	late.ops.Store(m.ops)
	m.pairer = session.NewPairer(m.wa, log)
	m.router = commands.New(m.ops, commands.Config{}, log)

	m.services.add("delivery loop", m.loop.Run)
	rescuer := queue.NewRescuer(db, queue.RescuerConfig{Tuning: tuning, Actor: m.loop.ProcessorID()}, log)
	m.services.add("stale-lock rescuer", rescuer.Run)
	dispatcher := campaign.NewDispatcher(db, campaign.DispatcherConfig{
		MaxAttempts: func(ctx context.Context) int { return m.settings.Int(ctx, queue.SettingMaxAttempts) },
		Notify:      m.loop.Notify,
		Ready:       m.ops.CampaignReadiness,
	}, log)
	m.services.add("campaign dispatcher", dispatcher.Run)
	m.services.add("housekeeping", m.housekeeping)
	m.services.add("media cleanup", m.mediaCleanup)
	m.services.add("template sync", m.templateSync)
	return m, nil
}

// mediaLinkSecret derives the key that signs the local media folder's
// links from the secret key, so links stay valid across restarts and no
// other secret needs keeping.
func mediaLinkSecret(key []byte) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("messagebridge media links v1"))
	return mac.Sum(nil)
}

// Run runs every service until ctx is cancelled or one of them fails,
// then stops them all within the shutdown timeout. It returns the
// failures.
func (m *Main) Run(ctx context.Context) error {
	return m.services.run(ctx, m.cfg.ShutdownTimeout)
}

// Close lets go of the gateways and the database. Call it after Run. A
// service that did not stop within the shutdown timeout may still use the
// gateways, the linked account and the database: then they are left open
// for the process's exit to close, rather than closed under it.
func (m *Main) Close() error {
	m.pairer.Close()
	if busy := m.services.stillRunning(); len(busy) > 0 {
		m.log.Warn("shutdown: gateways and database left open for services still stopping", "services", busy)
		return nil
	}
	m.gset.close()
	_ = m.wa.Close()
	return m.db.Close()
}

// housekeeping removes bookkeeping rows that stopped serving, hourly
// (robfig/cron), until ctx is cancelled.
func (m *Main) housekeeping(ctx context.Context) error {
	jobs := cron.New(cron.WithLocation(time.UTC))
	if _, err := jobs.AddFunc("@hourly", func() { m.purge(ctx) }); err != nil {
		return fmt.Errorf("housekeeping: %w", err)
	}
	jobs.Start()
	<-ctx.Done()
	<-jobs.Stop().Done()
	return nil
}

// purge runs the hourly housekeeping.
func (m *Main) purge(ctx context.Context) {
	res, err := m.db.Purge(ctx, store.Retention{})
	switch {
	case err != nil && ctx.Err() == nil:
		m.log.Error("housekeeping failed", "err", err)
	case res.Total() > 0:
		m.log.Info("housekeeping", "webhook_events", res.WebhookEvents, "heartbeats", res.Heartbeats,
			"gateway_media", res.GatewayMedia, "web_sessions", res.WebSessions, "leases", res.Leases)
	}
}

// mediaCleanupActor is who the scheduled media cleanup runs as.
func mediaCleanupActor() ops.Actor {
	return ops.Actor{Identity: "system:media-cleanup", Role: ops.RoleAdmin, Transport: "schedule"}
}

// mediaCleanup deletes the media files nothing uses any more when
// media.cleanup_schedule (a robfig/cron schedule, read live; @daily by
// default) says, until ctx is cancelled.
func (m *Main) mediaCleanup(ctx context.Context) error {
	return m.onSchedule(ctx, "media cleanup", ops.SettingMediaCleanupSchedule, func(ctx context.Context) {
		res, err := m.ops.CleanupMedia(ctx, mediaCleanupActor(), 0)
		switch {
		case err != nil && ctx.Err() == nil:
			m.log.Error("media cleanup failed", "err", err)
		case res.Candidates > 0:
			m.log.Info("media cleanup", "deleted", res.Deleted, "bytes", res.Bytes, "kept", res.Kept, "skipped", res.Skipped, "failed", res.Failed)
		}
	})
}

// templateSync reads the message templates from the provider account
// into the catalog when templates.sync_schedule (read live; @daily by
// default) says, until ctx is cancelled.
func (m *Main) templateSync(ctx context.Context) error {
	return m.onSchedule(ctx, "template sync", ops.SettingTemplateSyncSchedule, func(ctx context.Context) {
		syncTemplatesNow(ctx, m.ops, m.log)
	})
}

// syncTemplatesNow runs one scheduled template sync as the system actor.
// Without a gateway that can read templates (no account id or token set)
// it is skipped with a line at Info: not every installation uses them.
func syncTemplatesNow(ctx context.Context, o *ops.Service, log *slog.Logger) {
	res, err := o.SyncTemplates(ctx, ops.TemplateSyncActor())
	switch {
	case errors.Is(err, ops.ErrNotSetUp):
		log.Info("template sync skipped", "reason", ops.ErrorMessage(err))
	case err != nil && ctx.Err() == nil:
		log.Error("template sync failed", "err", err)
	case err == nil:
		log.Info("template sync", "gateways", res.Gateways, "added", res.Added, "updated", res.Updated, "unchanged", res.Unchanged,
			"gone", res.Gone, "not_approved", len(res.NotApproved), "clashes", len(res.Clashes), "skipped", len(res.Skipped))
	}
}

// onSchedule runs job whenever the robfig/cron schedule in setting (read
// live, checked each minute) comes due, until ctx is cancelled. A bad
// schedule is logged and nothing runs until it is fixed.
func (m *Main) onSchedule(ctx context.Context, what, setting string, job func(ctx context.Context)) error {
	last := time.Now().UTC()
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		spec := m.settings.String(ctx, setting)
		sched, err := cron.ParseStandard(spec)
		if err != nil {
			m.log.Warn(what+": bad schedule", "setting", setting, "schedule", spec, "err", err)
			continue
		}
		now := time.Now().UTC()
		if sched.Next(last).After(now) {
			continue
		}
		last = now
		job(ctx)
	}
}

// addHTTP serves health, webhooks, the local media links and the admin
// page on ln, shutting down gracefully when the run ends.
func (m *Main) addHTTP(ln net.Listener) {
	hooks := make(map[string]http.Handler, len(m.gset.webhooks))
	for name, h := range m.gset.webhooks {
		hooks[name] = m.metrics.WrapWebhook(name, h)
	}
	deps := webadmin.Deps{DB: m.db, Logger: m.log, Webhooks: hooks, Ops: m.ops, TrustProxy: m.cfg.TrustProxy,
		WhatsApp: whatsappAdmin{s: m.wa, p: m.pairer},
		Metrics:  m.metrics.Handler(func() string { return m.settings.String(context.Background(), settingMetricsToken) }),
	}
	if l, ok := m.media.(*media.Local); ok {
		deps.Media = l.Handler()
	}
	srv := newHTTPServer(webadmin.New(deps), defaultHTTPLimits(), m.log)
	m.services.add("http server", func(ctx context.Context) error {
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ln) }()
		select {
		case err := <-served:
			return err
		case <-ctx.Done():
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.cfg.ShutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
		return nil
	})
}

// addTransports adds the chat transports that are configured: Telegram
// when a token is set, and the WhatsApp operator chat once a WhatsApp
// account is linked (at start, or later by `messagebridge whatsapp pair`).
// Of several instances sharing the database, one holds each transport.
func (m *Main) addTransports() {
	m.services.add("telegram", m.runTelegram)
	m.services.add("failure notices", m.failureNotices().Run)
	m.services.add("whatsapp session", func(ctx context.Context) error {
		if err := m.wa.WaitLinked(ctx, 5*time.Second); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		bot.RunWithLease(ctx, m.db, "whatsapp.session", m.loop.ProcessorID(), leaseTTL, m.log, m.runWhatsApp)
		return nil
	})
}

// failureNotices tells staff, in their Telegram or WhatsApp chat, when a
// message they queued fails for good. Any instance with the Telegram token
// tells Telegram users; the one holding the WhatsApp session tells
// WhatsApp users.
func (m *Main) failureNotices() *commands.Notices {
	var _ commands.Notifier = (*telegram.Notifier)(nil)
	var _ commands.Notifier = (*whatsapp.Notifier)(nil)
	tg := telegram.NewNotifier(telegram.NotifierConfig{
		Token:       func() string { return m.settings.String(context.Background(), telegram.SettingToken) },
		APIEndpoint: m.cfg.TelegramAPIEndpoint, Logger: m.log})
	wa := whatsapp.NewNotifier(m.wa, m.wa.IsLoggedIn)
	return commands.NewNotices(m.ops, map[string]commands.Notifier{bot.Telegram: tg, bot.WhatsApp: wa}, commands.NoticeConfig{}, m.log)
}

// runWhatsApp connects the linked session and runs the WhatsApp operator
// chat on it until ctx is cancelled.
func (m *Main) runWhatsApp(ctx context.Context) error {
	chats := m.settings.List(ctx, whatsapp.SettingOperatorChats)
	if err := m.wa.Connect(); err != nil {
		return fmt.Errorf("whatsapp: %w", err)
	}
	if len(chats) == 0 {
		m.log.Info("whatsapp: connected for sending; no operator chats configured (setting whatsapp.operator_chats)")
		<-ctx.Done()
		return nil
	}
	tr, err := whatsapp.New(whatsapp.Config{AllowedChats: chats, Logger: m.log, ShutdownGrace: m.cfg.ShutdownTimeout * 3 / 4}, m.wa, m.router)
	if err != nil {
		return fmt.Errorf("whatsapp: %w", err)
	}
	return tr.Run(ctx)
}

// serve runs MessageBridge until ctx is cancelled, then shuts down
// gracefully within cfg.ShutdownTimeout.
func serve(ctx context.Context, cfg Config, logw io.Writer) error {
	log := newLogger(cfg, logw)
	m, err := Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer m.Close()
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	m.addHTTP(ln)
	m.addTransports()
	page := adminURL(ctx, m.settings, ln)
	log.Info("messagebridge started", "version", version, "http_addr", ln.Addr().String(),
		"database", m.db.Where(), "gateway", m.gws.Active(ctx), "media", m.storage, "workers", m.settings.Int(ctx, queue.SettingWorkers), "telegram", m.settings.String(ctx, telegram.SettingToken) != "",
		"admin_page", page+"/admin/")
	if err := announceSetup(ctx, m.ops, page, log); err != nil {
		log.Warn("could not make the admin setup link; run messagebridge admin create <user>", "err", err)
	}
	err = m.Run(ctx)
	log.Info("stopped")
	return err
}

// chat runs a terminal chat with the bot as console:<user>, with the
// delivery loop running alongside, until EOF, /quit or ctx is cancelled.
func chat(ctx context.Context, cfg Config, in io.Reader, out, logw io.Writer) error {
	log := newLogger(cfg, logw)
	m, err := Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer m.Close()
	identity := bot.Identity{Transport: bot.Console, ID: cfg.ConsoleUser}.String()
	if _, err := m.ops.EnsureOperator(ctx, identity, cfg.ConsoleRole, "messagebridge chat"); err != nil {
		return err
	}
	m.services.addFinal("console", func(ctx context.Context) error {
		return console.Run(ctx, console.Config{User: cfg.ConsoleUser, In: in, Out: out, FileDir: cfg.DataDir}, m.router)
	})
	return m.Run(ctx)
}

// migrate applies pending migrations and reports what ran on out.
func migrate(ctx context.Context, cfg Config, out, logw io.Writer) error {
	log := newLogger(cfg, logw)
	if cfg.DatabaseURL == "" {
		if err := ensureDataDir(cfg.DataDir); err != nil {
			return err
		}
	}
	db, err := openStore(ctx, cfg, nil, log)
	if err != nil {
		return err
	}
	defer db.Close()
	applied, err := db.Migrate(ctx)
	for _, m := range applied {
		fmt.Fprintf(out, "applied %s (version %d) in %s\n", m.File, m.Version, m.Duration.Round(time.Millisecond))
	}
	if err != nil {
		return err
	}
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintf(out, "%s is up to date at schema version %d: nothing to apply\n", db.Where(), v.Current)
		return nil
	}
	fmt.Fprintf(out, "%s migrated to schema version %d\n", db.Where(), v.Current)
	return nil
}

func openStore(ctx context.Context, cfg Config, box *secretbox.Box, log *slog.Logger) (*store.DB, error) {
	opts := store.Options{Logger: log}
	if box != nil {
		opts.Secrets = box
	}
	db, err := store.Open(ctx, store.Config{URL: cfg.DatabaseURL, DataDir: cfg.DataDir, MaxOpenConns: cfg.DBMaxConns}, opts)
	if err != nil {
		return nil, err
	}
	return db, nil
}

// prepareSchema applies pending migrations, or refuses to run on an old
// schema when auto-migration is off.
func prepareSchema(ctx context.Context, cfg Config, db *store.DB, log *slog.Logger) error {
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if !v.Pending() {
		return nil
	}
	if !cfg.AutoMigrate {
		return fmt.Errorf("%w: it is at version %d, this binary needs %d; run `messagebridge migrate` or set MB_AUTO_MIGRATE=true", store.ErrSchemaBehind, v.Current, v.Latest)
	}
	applied, err := db.Migrate(ctx)
	for _, m := range applied {
		log.Info("applied migration", "file", m.File, "version", m.Version, "duration", m.Duration.Round(time.Millisecond))
	}
	return err
}

// ensureDataDir creates the data dir and proves it is writable.
func ensureDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("data dir %s cannot be created: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".write-check-*")
	if err != nil {
		return fmt.Errorf("data dir %s is not writable: %w", dir, err)
	}
	name := f.Name()
	_ = f.Close()
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("data dir %s is not writable: %w", dir, err)
	}
	return nil
}

// loadSecretKey returns the box for MB_SECRET_KEY, or for the key file in the
// data dir (generated on first start), and the key.
func loadSecretKey(cfg Config, log *slog.Logger) (*secretbox.Box, []byte, error) {
	var key []byte
	if cfg.SecretKey != "" {
		k, err := secretbox.ParseKey(cfg.SecretKey)
		if err != nil {
			return nil, nil, fmt.Errorf("MB_SECRET_KEY: %w", err)
		}
		key = k
	} else {
		path := filepath.Join(cfg.DataDir, keyFileName)
		k, created, err := secretbox.LoadOrCreateKeyFile(path)
		if err != nil {
			return nil, nil, fmt.Errorf("secret key: %w", err)
		}
		if created {
			log.Warn("generated a new secret key; back it up with the database, secrets cannot be read without it", "path", path)
		}
		key = k
	}
	box, err := secretbox.New(key)
	if err != nil {
		return nil, nil, fmt.Errorf("secret key: %w", err)
	}
	return box, key, nil
}
