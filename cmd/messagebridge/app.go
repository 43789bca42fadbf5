package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/messagebridge/messagebridge/bot"
	"github.com/messagebridge/messagebridge/bot/console"
	"github.com/messagebridge/messagebridge/bot/telegram"
	"github.com/messagebridge/messagebridge/bot/whatsapp"
	"github.com/messagebridge/messagebridge/commands"
	"github.com/messagebridge/messagebridge/gateways/dryrun"
	"github.com/messagebridge/messagebridge/gateways/library"
	"github.com/messagebridge/messagebridge/gateways/session"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/secretbox"
	"github.com/messagebridge/messagebridge/webadmin"
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

// app is everything a running MessageBridge holds: the database, the
// gateways, the delivery loop and the command router. serve and chat share it.
type app struct {
	cfg    Config
	log    *slog.Logger
	db     *store.DB
	gset   *gatewaySet
	gws    *queue.SettingsGateways
	loop   *queue.Loop
	router *commands.Router

	stopLoop   func()
	looped     chan error
	dispatched chan struct{}
	jobs       *cron.Cron
}

// startApp opens the database (migrating it and checking the secret key),
// seeds bootstrap admins and starts the delivery loop.
func startApp(ctx context.Context, cfg Config, log *slog.Logger) (_ *app, err error) {
	if err := ensureDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	box, err := loadSecretKey(cfg, log)
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
	for _, id := range cfg.BootstrapAdmins {
		if _, err := db.PutOperator(ctx, id, store.RoleAdmin, "", "MB_BOOTSTRAP_ADMINS"); err != nil {
			return nil, err
		}
	}

	if err := seedGatewaySettings(ctx, db, cfg.getenv, log); err != nil {
		return nil, err
	}

	a := &app{cfg: cfg, log: log, db: db}
	if a.gset, err = buildGateways(ctx, cfg, db, log); err != nil {
		return nil, err
	}
	// The dry-run gateway is the default until an admin picks another.
	a.gws = queue.NewSettingsGateways(db, a.gset.senders, dryrun.Name)
	a.loop = queue.New(queue.Config{
		Workers:          cfg.Workers,
		Version:          version,
		Retry:            queue.Backoff{Base: cfg.RetryBase, Cap: cfg.RetryMaxDelay, Jitter: 0.2},
		LockTimeout:      cfg.LockTimeout,
		RecipientSpacing: cfg.RecipientSpacing,
		GatewayRates:     a.gset.rates,
		Library:          library.New(db, filepath.Join(cfg.DataDir, "media"), ""),
	}, db, a.gws, log)
	a.router = commands.New(db, commands.Config{
		Region:         cfg.Region,
		DedupeWindow:   cfg.DedupeWindow,
		MaxAttempts:    cfg.MaxAttempts,
		Gateways:       a.gset.names(),
		MinIntervals:   map[string]time.Duration{session.Name: session.DefaultMinGap},
		ImportLimits:   cfg.ImportLimits,
		DefaultGateway: dryrun.Name,
		Notify:         a.loop.Notify,
	}, log)
	loopCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	a.stopLoop, a.looped = stop, make(chan error, 1)
	go func() { a.looped <- a.loop.Run(loopCtx) }()
	// Campaign contacts become queue items as their send slots come up.
	// Housekeeping: bookkeeping rows that stopped serving are removed hourly.
	a.jobs = cron.New(cron.WithLocation(time.UTC))
	if _, err := a.jobs.AddFunc("@hourly", func() { a.purge(loopCtx) }); err != nil {
		return nil, fmt.Errorf("housekeeping: %w", err)
	}
	a.jobs.Start()
	a.dispatched = make(chan struct{})
	go func() {
		defer close(a.dispatched)
		_ = queue.NewDispatcher(db, time.Second, cfg.MaxAttempts, a.loop.Notify, log).Run(loopCtx)
	}()
	return a, nil
}

// purge runs the hourly housekeeping.
func (a *app) purge(ctx context.Context) {
	res, err := a.db.Purge(ctx, store.Retention{})
	switch {
	case err != nil && ctx.Err() == nil:
		a.log.Error("housekeeping failed", "err", err)
	case res.Total() > 0:
		a.log.Info("housekeeping", "webhook_events", res.WebhookEvents, "heartbeats", res.Heartbeats,
			"gateway_media", res.GatewayMedia, "web_sessions", res.WebSessions, "leases", res.Leases)
	}
}

// close finishes the sends in flight and records them, then closes the
// database; it gives up waiting for the loop at deadline.
func (a *app) close(deadline context.Context) {
	<-a.jobs.Stop().Done()
	a.stopLoop()
	select {
	case <-a.looped:
	case <-deadline.Done():
		a.log.Warn("delivery loop did not stop in time; its items are recovered after the lock timeout")
	}
	select {
	case <-a.dispatched:
	case <-deadline.Done():
	}
	a.gset.close()
	_ = a.db.Close()
}

// serve runs MessageBridge until ctx is cancelled, then shuts down
// gracefully within cfg.ShutdownTimeout.
func serve(ctx context.Context, cfg Config, logw io.Writer) error {
	log := newLogger(cfg, logw)
	a, err := startApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		a.close(ctx)
		return fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	srv := &http.Server{
		Handler:           webadmin.New(webadmin.Deps{DB: a.db, Logger: log, Webhooks: a.gset.webhooks}),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	transports, stopTransports := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if cfg.TelegramToken != "" {
		tg, err := telegram.New(telegram.Config{Token: cfg.TelegramToken, APIEndpoint: cfg.TelegramAPIEndpoint, Logger: log}, a.db, a.router)
		if err != nil {
			stopTransports()
			a.close(ctx)
			return fmt.Errorf("telegram: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Of several instances sharing the database, one polls.
			bot.RunWithLease(transports, a.db, "telegram.poll", a.loop.ProcessorID(), 30*time.Second, log, tg.Run)
		}()
	}
	if st, err := a.gset.session.Status(ctx); err == nil && st.Linked {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// One instance holds the linked session: it sends through it and
			// listens for operators in the configured chats.
			bot.RunWithLease(transports, a.db, "whatsapp.session", a.loop.ProcessorID(), 30*time.Second, log, a.runWhatsApp)
		}()
	}
	log.Info("messagebridge started", "version", version, "http_addr", ln.Addr().String(),
		"database", a.db.Where(), "gateway", a.gws.Active(ctx), "workers", cfg.Workers, "telegram", cfg.TelegramToken != "")

	var runErr error
	select {
	case err := <-served:
		runErr = fmt.Errorf("http server: %w", err)
	case err := <-a.looped:
		a.looped <- err
		runErr = fmt.Errorf("delivery loop stopped: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	stopTransports()
	wg.Wait()
	if err := srv.Shutdown(sctx); err != nil && runErr == nil {
		runErr = fmt.Errorf("shutdown: %w", err)
	}
	a.close(sctx)
	log.Info("stopped")
	return runErr
}

// runWhatsApp connects the linked session and runs the WhatsApp operator
// chat on it until ctx is cancelled.
func (a *app) runWhatsApp(ctx context.Context) error {
	var chats []string
	if s, err := a.db.Setting(ctx, "whatsapp.operator_chats"); err == nil {
		for _, c := range strings.Split(s.Value, ",") {
			if c = strings.TrimSpace(c); c != "" {
				chats = append(chats, c)
			}
		}
	}
	if err := a.gset.session.Connect(); err != nil {
		return fmt.Errorf("whatsapp: %w", err)
	}
	if len(chats) == 0 {
		a.log.Info("whatsapp: connected for sending; no operator chats configured (setting whatsapp.operator_chats)")
		<-ctx.Done()
		return nil
	}
	tr, err := whatsapp.New(whatsapp.Config{AllowedChats: chats, Logger: a.log}, a.gset.session, a.router)
	if err != nil {
		return fmt.Errorf("whatsapp: %w", err)
	}
	return tr.Run(ctx)
}

// chat runs a terminal chat with the bot as console:<user>, with the
// delivery loop running alongside, until EOF, /quit or ctx is cancelled.
func chat(ctx context.Context, cfg Config, in io.Reader, out, logw io.Writer) error {
	log := newLogger(cfg, logw)
	a, err := startApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	identity := bot.Identity{Transport: bot.Console, ID: cfg.ConsoleUser}.String()
	if _, err := a.db.Operator(ctx, identity); errors.Is(err, store.ErrNotFound) {
		if _, err := a.db.PutOperator(ctx, identity, cfg.ConsoleRole, cfg.ConsoleUser, "messagebridge chat"); err != nil {
			a.close(ctx)
			return err
		}
	}
	runErr := console.Run(ctx, console.Config{User: cfg.ConsoleUser, In: in, Out: out, FileDir: cfg.DataDir}, a.router)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	a.close(sctx)
	return runErr
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
// data dir (generated on first start).
func loadSecretKey(cfg Config, log *slog.Logger) (*secretbox.Box, error) {
	var key []byte
	if cfg.SecretKey != "" {
		k, err := secretbox.ParseKey(cfg.SecretKey)
		if err != nil {
			return nil, fmt.Errorf("MB_SECRET_KEY: %w", err)
		}
		key = k
	} else {
		path := filepath.Join(cfg.DataDir, keyFileName)
		k, created, err := secretbox.LoadOrCreateKeyFile(path)
		if err != nil {
			return nil, fmt.Errorf("secret key: %w", err)
		}
		if created {
			log.Warn("generated a new secret key; back it up with the database, secrets cannot be read without it", "path", path)
		}
		key = k
	}
	box, err := secretbox.New(key)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return box, nil
}
