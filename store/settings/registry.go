// Package settings is the registry of MessageBridge's runtime settings and
// their cached, typed reader. Each setting is declared once, next to the
// code that uses it (the queue, each gateway, the operations layer), with
// its key, type, default, unit, whether it is secret, its MB_* variable,
// its validation, a help line and the least role that may change it. The
// registry collects those declarations; the chat's /settings, the admin
// page, environment seeding and the README's settings table are views of
// it. Values live in the settings table (secret ones sealed by the store).
package settings

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Type is how a setting's text value is read.
type Type string

// The setting types.
const (
	String   Type = "string"
	Bool     Type = "bool"
	Int      Type = "int"
	Float    Type = "float"
	Duration Type = "duration"
	// URL is an http:// or https:// URL.
	URL Type = "url"
	// List is comma-separated words.
	List Type = "list"
)

// Roles that may change settings, from least to most powerful; the same
// names as the chat roles.
const (
	RoleOperator = "operator"
	RoleAdmin    = "admin"
)

// Def declares one setting.
type Def struct {
	// Key is the setting's name in the settings table: "group.name".
	Key string
	// Type says how the value is read and checked.
	Type Type
	// Default is the value while the setting is unset ("" for none).
	Default string
	// Unit says what a number counts ("per second", "MB"), for help and
	// the README.
	Unit string
	// Secret settings are sealed at rest, written only from the
	// environment or the admin page, and shown masked.
	Secret bool
	// Env is the MB_* variable that seeds the setting; empty means the
	// default name, MB_ and the key in upper case with dots as
	// underscores (meta.access_token → MB_META_ACCESS_TOKEN). "-" means
	// the setting has no variable.
	Env string
	// Min and Max bound Int, Float and Duration values (Duration in
	// nanoseconds); both zero means unbounded.
	Min, Max float64
	// Choices, when set, are the only values accepted (compared in lower
	// case).
	Choices []string
	// Check validates a value that has the right type; nil accepts all.
	Check func(v string) error
	// Help is one line saying what the setting does.
	Help string
	// Role is the least role that may change it (default RoleAdmin).
	Role string
}

// EnvVar is the variable that seeds the setting, or "" when none does.
func (d Def) EnvVar() string {
	switch d.Env {
	case "-":
		return ""
	case "":
		return "MB_" + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(d.Key))
	default:
		return d.Env
	}
}

// Group is the part of the key before the first dot ("meta").
func (d Def) Group() string {
	g, _, _ := strings.Cut(d.Key, ".")
	return g
}

// MayChange reports whether role may change the setting.
func (d Def) MayChange(role string) bool {
	need := d.Role
	if need == "" {
		need = RoleAdmin
	}
	rank := func(r string) int { return slices.Index([]string{"staff", RoleOperator, RoleAdmin}, r) }
	return rank(role) >= 0 && rank(role) >= rank(need)
}

// InvalidError says why a value does not fit a setting. Its message names
// the setting and the rule, never the value of a secret.
type InvalidError struct {
	Key     string
	Message string
}

func (e *InvalidError) Error() string { return e.Key + ": " + e.Message }

// Normalize checks v against the setting's type, bounds, choices and check,
// and returns it in canonical form (trimmed; booleans as true/false;
// durations as Go writes them; lists without blanks). The empty string is
// accepted for settings whose default is empty: it unsets them.
func (d Def) Normalize(v string) (string, error) {
	v = strings.TrimSpace(v)
	bad := func(format string, args ...any) (string, error) {
		return "", &InvalidError{Key: d.Key, Message: fmt.Sprintf(format, args...)}
	}
	if v == "" {
		if d.Default == "" {
			return "", nil
		}
		return bad("a value is needed (default %s)", d.Default)
	}
	if len(v) > 4000 {
		return bad("the value is too long (at most 4000 characters)")
	}
	switch d.Type {
	case Bool:
		b, err := strconv.ParseBool(strings.ToLower(v))
		if err != nil {
			if strings.EqualFold(v, "yes") || strings.EqualFold(v, "on") {
				b, err = true, nil
			} else if strings.EqualFold(v, "no") || strings.EqualFold(v, "off") {
				b, err = false, nil
			}
		}
		if err != nil {
			return bad("use true or false")
		}
		v = strconv.FormatBool(b)
	case Int:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return bad("use a whole number%s", d.rangeText())
		}
		if !d.inRange(float64(n)) {
			return bad("use a whole number%s", d.rangeText())
		}
		v = strconv.FormatInt(n, 10)
	case Float:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || !d.inRange(f) {
			return bad("use a number%s", d.rangeText())
		}
		v = strconv.FormatFloat(f, 'f', -1, 64)
	case Duration:
		dur, err := time.ParseDuration(v)
		if err != nil {
			return bad("use a duration such as 30s, 5m or 1h%s", d.rangeText())
		}
		if !d.inRange(float64(dur)) {
			return bad("use a duration%s", d.rangeText())
		}
		v = ShortDuration(dur)
	case URL:
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad("use an http:// or https:// URL")
		}
		v = strings.TrimRight(v, "/")
	case List:
		var parts []string
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		v = strings.Join(parts, ",")
	case String, "":
	default:
		return bad("unknown type %s", d.Type)
	}
	if len(d.Choices) > 0 {
		lv := strings.ToLower(v)
		if !slices.Contains(d.Choices, lv) {
			return bad("use one of %s", strings.Join(d.Choices, ", "))
		}
		v = lv
	}
	if d.Check != nil {
		if err := d.Check(v); err != nil {
			var ie *InvalidError
			if errors.As(err, &ie) {
				return "", err
			}
			return bad("%s", err.Error())
		}
	}
	return v, nil
}

func (d Def) inRange(f float64) bool {
	if d.Min == 0 && d.Max == 0 {
		return true
	}
	return f >= d.Min && (d.Max == 0 || f <= d.Max)
}

func (d Def) rangeText() string {
	if d.Min == 0 && d.Max == 0 {
		return ""
	}
	show := func(f float64) string {
		if d.Type == Duration {
			return ShortDuration(time.Duration(f))
		}
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	if d.Max == 0 {
		return " of at least " + show(d.Min)
	}
	return fmt.Sprintf(" from %s to %s", show(d.Min), show(d.Max))
}

// Registry is the set of declared settings.
type Registry struct {
	defs  []Def
	byKey map[string]int
}

// NewRegistry collects declarations. It refuses duplicate keys or
// variables, defaults that do not pass their own validation, and keys that
// are not "group.name".
func NewRegistry(groups ...[]Def) (*Registry, error) {
	r := &Registry{byKey: map[string]int{}}
	envs := map[string]string{}
	for _, g := range groups {
		for _, d := range g {
			if d.Type == "" {
				d.Type = String
			}
			if !strings.Contains(d.Key, ".") || strings.ContainsAny(d.Key, " \t=") {
				return nil, fmt.Errorf("setting %q: keys are group.name", d.Key)
			}
			if _, dup := r.byKey[d.Key]; dup {
				return nil, fmt.Errorf("setting %s is declared twice", d.Key)
			}
			if e := d.EnvVar(); e != "" {
				if other, dup := envs[e]; dup {
					return nil, fmt.Errorf("settings %s and %s share the variable %s", other, d.Key, e)
				}
				envs[e] = d.Key
			}
			if d.Default != "" {
				if _, err := d.Normalize(d.Default); err != nil {
					return nil, fmt.Errorf("setting %s: default: %w", d.Key, err)
				}
			}
			r.byKey[d.Key] = len(r.defs)
			r.defs = append(r.defs, d)
		}
	}
	return r, nil
}

// Def returns the declaration of key.
func (r *Registry) Def(key string) (Def, bool) {
	i, ok := r.byKey[strings.ToLower(strings.TrimSpace(key))]
	if !ok {
		return Def{}, false
	}
	return r.defs[i], true
}

// All returns every declaration in the order declared.
func (r *Registry) All() []Def { return slices.Clone(r.defs) }

// Keys returns every key, sorted.
func (r *Registry) Keys() []string {
	keys := make([]string, len(r.defs))
	for i, d := range r.defs {
		keys[i] = d.Key
	}
	slices.Sort(keys)
	return keys
}

// Mask shows a secret as its last four characters ("••••a1b2"); values of
// eight characters or fewer show nothing of themselves.
func Mask(v string) string {
	if v == "" {
		return ""
	}
	r := []rune(v)
	if len(r) <= 8 {
		return "••••"
	}
	return "••••" + string(r[len(r)-4:])
}

// ShortDuration writes d as Go does, without zero minutes and seconds
// after larger units: 24h rather than 24h0m0s, 1h30m rather than 1h30m0s.
func ShortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
