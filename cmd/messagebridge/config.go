package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/messagebridge/messagebridge/commands/phone"
	"github.com/messagebridge/messagebridge/gateways"
	"github.com/messagebridge/messagebridge/gateways/session"
)

// Config is the process configuration: what must be known before the
// database is open. Everything an admin changes at run time lives in the
// settings table instead.
type Config struct {
	// DataDir holds the SQLite database, the secret key file and local
	// media. Default ./data.
	DataDir string
	// DatabaseURL selects the database; empty means SQLite in DataDir.
	DatabaseURL string
	// HTTPAddr is where /healthz, webhooks and the admin page listen.
	HTTPAddr string
	// TrustProxy takes clients' addresses from X-Forwarded-For (set it
	// only behind a reverse proxy that sets that header).
	TrustProxy bool
	// SecretKey seals secret settings (32 bytes, hex or base64). Empty means
	// the key file in DataDir, generated on first start. Environment only:
	// a flag would show it in the process list.
	SecretKey string
	// LogLevel is debug, info, warn or error.
	LogLevel slog.Level
	// LogFormat is text or json.
	LogFormat string
	// AutoMigrate applies pending migrations at serve start; when false,
	// serve refuses to start on an old schema.
	AutoMigrate bool
	// DBMaxConns bounds the MySQL connection pool.
	DBMaxConns int
	// ShutdownTimeout bounds the graceful shutdown after SIGINT/SIGTERM.
	ShutdownTimeout time.Duration
	// BootstrapAdmins are identities made admin at start.
	BootstrapAdmins []string
	// TelegramAPIEndpoint is a self-hosted Bot API server's base URL.
	TelegramAPIEndpoint string
	// ConsoleUser and ConsoleRole are who `messagebridge chat` speaks as.
	ConsoleUser, ConsoleRole string
	// getenv reads the MB_* variables of the runtime settings, with the
	// flags that stand for some of them given precedence.
	getenv func(string) string
	// gatewayList lists the gateways over the linked WhatsApp account
	// (nil: the package's gatewayList); a test registers its own.
	gatewayList func(account *session.Session) []gateways.Definition
}

// option describes one process option: its flag, its environment
// variable, its default and its help. The README's configuration table
// lists the same. A setting option is a flag for a runtime setting of the
// registry: it stands for that setting's MB_* variable, and the registry
// validates it when the database is open.
type option struct {
	flag, env, def, help string
	// envOnly options have no flag (secrets).
	envOnly bool
	set     func(c *Config, v string) error
}

// settingFlags are the flags kept for runtime settings: each sets the
// setting's MB_* variable for this start.
func settingFlags() []option {
	return []option{
		{flag: "workers", env: "MB_WORKERS", help: "sends the delivery loop runs at once (setting queue.workers)"},
		{flag: "retry-base", env: "MB_RETRY_BASE", help: "wait after the first failed attempt (setting queue.retry_base)"},
		{flag: "retry-max-delay", env: "MB_RETRY_MAX_DELAY", help: "longest wait between two attempts (setting queue.retry_max_delay)"},
		{flag: "lock-timeout", env: "MB_LOCK_TIMEOUT", help: "how long a message may stay processing (setting queue.lock_timeout)"},
		{flag: "recipient-spacing", env: "MB_RECIPIENT_SPACING", help: "least time between two sends to one phone (setting queue.recipient_spacing)"},
		{flag: "max-attempts", env: "MB_MAX_ATTEMPTS", help: "attempts before a message fails (setting queue.max_attempts)"},
		{flag: "region", env: "MB_REGION", help: "country of numbers typed without +code (setting intake.region)"},
		{flag: "dedupe-window", env: "MB_DEDUPE_WINDOW", help: "a number again within this time is not queued twice (setting intake.dedupe_window)"},
		{flag: "import-max-mb", env: "MB_IMPORT_MAX_MB", help: "largest contact list accepted, in MB (setting import.max_mb)"},
		{flag: "import-max-rows", env: "MB_IMPORT_MAX_ROWS", help: "most rows in one contact list (setting import.max_rows)"},
		{flag: "import-max-unzipped-mb", env: "MB_IMPORT_MAX_UNZIPPED_MB", help: "largest uncompressed .xlsx, in MB (setting import.max_unzipped_mb)"},
		{flag: "import-max-cell", env: "MB_IMPORT_MAX_CELL", help: "longest cell in a contact list (setting import.max_cell)"},
	}
}

func options() []option {
	return []option{
		{flag: "data-dir", env: "MB_DATA_DIR", def: "./data",
			help: "directory for the SQLite database, the secret key file and local media",
			set:  func(c *Config, v string) error { c.DataDir = v; return nil }},
		{flag: "database-url", env: "MB_DATABASE_URL", def: "",
			help: "mysql://user:pass@host:3306/db, or sqlite:///path/file.db (default: SQLite file in the data dir)",
			set:  func(c *Config, v string) error { c.DatabaseURL = v; return nil }},
		{flag: "http-addr", env: "MB_HTTP_ADDR", def: "127.0.0.1:8080",
			help: "listen address for health, webhooks and the admin page",
			set:  func(c *Config, v string) error { c.HTTPAddr = v; return nil }},
		{flag: "trust-proxy", env: "MB_TRUST_PROXY", def: "false",
			help: "behind a reverse proxy: take clients' addresses from X-Forwarded-For (sign-in throttling, /metrics' loopback check)",
			set: func(c *Config, v string) error {
				b, err := strconv.ParseBool(v)
				if err != nil {
					return fmt.Errorf("trust-proxy %q: use true or false", v)
				}
				c.TrustProxy = b
				return nil
			}},
		{env: "MB_SECRET_KEY", envOnly: true,
			help: "32-byte key (64 hex digits or base64) sealing secret settings; default: data-dir/secret.key, generated on first start",
			set:  func(c *Config, v string) error { c.SecretKey = v; return nil }},
		{flag: "log-level", env: "MB_LOG_LEVEL", def: "info",
			help: "debug, info, warn or error",
			set: func(c *Config, v string) error {
				if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
					return fmt.Errorf("log level %q: use debug, info, warn or error", v)
				}
				return nil
			}},
		{flag: "log-format", env: "MB_LOG_FORMAT", def: "text",
			help: "text or json",
			set: func(c *Config, v string) error {
				v = strings.ToLower(v)
				if v != "text" && v != "json" {
					return fmt.Errorf("log format %q: use text or json", v)
				}
				c.LogFormat = v
				return nil
			}},
		{flag: "auto-migrate", env: "MB_AUTO_MIGRATE", def: "true",
			help: "apply pending migrations when serve starts; false makes serve refuse an old schema",
			set: func(c *Config, v string) error {
				b, err := strconv.ParseBool(v)
				if err != nil {
					return fmt.Errorf("auto-migrate %q: use true or false", v)
				}
				c.AutoMigrate = b
				return nil
			}},
		{flag: "db-max-conns", env: "MB_DB_MAX_CONNS", def: "20",
			help: "MySQL connection pool size (SQLite always uses one writer)",
			set:  intOption("db-max-conns", 1, 1000, func(c *Config, n int) { c.DBMaxConns = n })},
		{flag: "shutdown-timeout", env: "MB_SHUTDOWN_TIMEOUT", def: "4s",
			help: "how long a graceful shutdown may take",
			set:  durationOption("shutdown-timeout", func(c *Config, d time.Duration) { c.ShutdownTimeout = d })},
		{flag: "bootstrap-admins", env: "MB_BOOTSTRAP_ADMINS", def: "",
			help: "comma-separated telegram:<user-id> / whatsapp:<number> made admin at start",
			set: func(c *Config, v string) error {
				ids, err := parseIdentities(v)
				c.BootstrapAdmins = ids
				return err
			}},
		{flag: "telegram-api-endpoint", env: "MB_TELEGRAM_API_ENDPOINT", def: "",
			help: "base URL of a self-hosted Telegram Bot API server, e.g. http://127.0.0.1:8081 (lifts the 20 MB file limit); empty means the public https://api.telegram.org",
			set: func(c *Config, v string) error {
				if v != "" && !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
					return fmt.Errorf("telegram-api-endpoint %q: use an http:// or https:// URL", v)
				}
				c.TelegramAPIEndpoint = strings.TrimRight(v, "/")
				return nil
			}},
		{flag: "console-user", env: "MB_CONSOLE_USER", def: "local",
			help: "who `messagebridge chat` speaks as (console:<user>)",
			set:  func(c *Config, v string) error { c.ConsoleUser = v; return nil }},
		{flag: "console-role", env: "MB_CONSOLE_ROLE", def: "admin",
			help: "role given to the console user the first time it chats",
			set: func(c *Config, v string) error {
				if v != "staff" && v != "operator" && v != "admin" {
					return fmt.Errorf("console-role %q: use staff, operator or admin", v)
				}
				c.ConsoleRole = v
				return nil
			}},
	}
}

// parseIdentities reads "telegram:123,whatsapp:+9198…" into identities.
func parseIdentities(v string) ([]string, error) {
	var out []string
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		transport, id, ok := strings.Cut(part, ":")
		transport = strings.ToLower(transport)
		switch {
		case !ok || id == "":
			return nil, fmt.Errorf("bootstrap admin %q: use telegram:<user-id> or whatsapp:<number>", part)
		case transport == "telegram":
			if _, err := strconv.ParseInt(id, 10, 64); err != nil {
				return nil, fmt.Errorf("bootstrap admin %q: a Telegram user id is a number", part)
			}
		case transport == "whatsapp":
			e164, err := phone.Normalize(id, phone.Policy{Region: "IN", AllowForeign: true})
			if err != nil {
				return nil, fmt.Errorf("bootstrap admin %q: %w", part, err)
			}
			id = e164
		default:
			return nil, fmt.Errorf("bootstrap admin %q: use telegram:<user-id> or whatsapp:<number>", part)
		}
		out = append(out, transport+":"+id)
	}
	return out, nil
}

func intOption(name string, lo, hi int, apply func(*Config, int)) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("%s %q: use a whole number from %d to %d", name, v, lo, hi)
		}
		apply(c, n)
		return nil
	}
}

func durationOption(name string, apply func(*Config, time.Duration)) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("%s %q: use a duration such as 30s, 5m or 1h", name, v)
		}
		apply(c, d)
		return nil
	}
}

// errUsage marks a command-line mistake (exit status 2).
var errUsage = errors.New("usage")

// parseConfig reads the flags in args over the MB_* variables from getenv
// over the defaults. Flag errors wrap errUsage.
// flagHelp is an option's line in -h: its help, its variable and its
// default when it has one. Back quotes are left out: the flag package
// would take a back-quoted phrase for the value's name.
func flagHelp(o option) string {
	h := strings.ReplaceAll(o.help, "`", "")
	if o.def == "" {
		return fmt.Sprintf("%s (env %s)", h, o.env)
	}
	return fmt.Sprintf("%s (env %s, default %q)", h, o.env, o.def)
}

func parseConfig(name string, args []string, getenv func(string) string, out io.Writer) (Config, error) {
	c := Config{}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	overrides := map[string]string{}
	for _, o := range settingFlags() {
		fs.Func(o.flag, flagHelp(o), func(v string) error {
			overrides[o.env] = v
			return nil
		})
	}
	c.getenv = func(k string) string {
		if v, ok := overrides[k]; ok {
			return v
		}
		return getenv(k)
	}
	var errs []error
	for _, o := range options() {
		val := o.def
		if v := getenv(o.env); v != "" {
			val = v
		}
		if err := o.set(&c, val); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", o.env, err))
		}
		if o.envOnly {
			continue
		}
		fs.Func(o.flag, flagHelp(o), func(v string) error {
			return o.set(&c, v)
		})
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	if strings.TrimSpace(c.DataDir) == "" {
		return Config{}, errors.New("MB_DATA_DIR: the data dir may not be empty")
	}
	if c.ShutdownTimeout <= 0 {
		return Config{}, errors.New("MB_SHUTDOWN_TIMEOUT must be positive")
	}
	return c, nil
}
