package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/messagebridge/messagebridge/commands/importer"
	"github.com/messagebridge/messagebridge/commands/phone"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/settings"
)

// Keys of the settings the operations declare.
const (
	SettingActiveGateway = queue.SettingActiveGateway
	SettingRegion        = "intake.region"
	SettingAllowForeign  = "intake.allow_foreign"
	SettingIntakeText    = "intake.text"
	SettingIntakeMessage = "intake.message"
	// SettingIntakeTemplate and SettingIntakeParams are the template staff
	// sends go as on a gateway with a window (meta) while the customer's
	// window is closed or unknown, and its values (see ParseTemplateValues;
	// {{phone}} and {{staff}} are filled per send).
	SettingIntakeTemplate = "intake.template"
	SettingIntakeParams   = "intake.template_params"
	SettingDedupeWindow   = "intake.dedupe_window"
	SettingMaxNumbers     = "intake.max_numbers"
	SettingTimezone       = "campaign.timezone"
	SettingImportMaxMB    = "import.max_mb"
	SettingImportMaxRows  = "import.max_rows"
	SettingImportMaxZip   = "import.max_unzipped_mb"
	SettingImportMaxCell  = "import.max_cell"
)

// SettingDefs declares the settings of intake, imports, campaigns and the
// gateway choice. gateways are the names gateway.active accepts, the
// default first.
func SettingDefs(gateways []string) []settings.Def {
	def := "dryrun"
	if len(gateways) > 0 {
		def = gateways[0]
	}
	defs := []settings.Def{
		{Key: SettingActiveGateway, Default: def, Choices: gateways, Env: "MB_GATEWAY",
			Help: "the sending method for messages that do not name their own: " + strings.Join(gateways, ", ")},
		{Key: SettingRegion, Default: "IN", Env: "MB_REGION", Check: checkRegion,
			Help: "country of numbers typed without +code (two letters, e.g. IN)"},
		{Key: SettingAllowForeign, Type: settings.Bool, Default: "false",
			Help: "accept numbers of other countries when typed with their +code"},
		{Key: SettingIntakeText, Default: "Hello! Your order is ready. Thank you for shopping with us.", Role: settings.RoleOperator,
			Help: "the message a customer gets when staff send their number"},
		{Key: SettingIntakeMessage, Role: settings.RoleOperator, Check: checkSavedName,
			Help: "the saved message (by name) staff sends use instead of intake.text; /send <phone> <saved message> overrides it"},
		{Key: SettingIntakeTemplate, Role: settings.RoleOperator,
			Help: "the approved template (saved name, /templates) staff sends go as on meta when the customer has not written in the last 24 hours; without it such a number cannot be reached"},
		{Key: SettingIntakeParams, Role: settings.RoleOperator,
			Help: "the values of intake.template: header=<text or saved image> body=a|b name=value button1=…; {{phone}} and {{staff}} are filled per send"},
		{Key: SettingDedupeWindow, Type: settings.Duration, Default: "10m", Min: 0, Max: float64(7 * 24 * time.Hour), Env: "MB_DEDUPE_WINDOW", Role: settings.RoleOperator,
			Help: "the same number again within this time is \"already queued\" unless sent with /send!"},
		{Key: SettingMaxNumbers, Type: settings.Int, Default: "50", Min: 1, Max: 1000, Env: "MB_INTAKE_MAX_NUMBERS", Role: settings.RoleOperator,
			Help: "most phone numbers one chat message may hold; a message with more queues none of them (a campaign takes long lists)"},
		{Key: SettingTimezone, Default: "Asia/Kolkata", Check: checkZone,
			Help: "time zone of campaign schedules and the times in replies and results"},
		{Key: SettingImportMaxMB, Type: settings.Int, Default: "20", Unit: "MB", Min: 1, Max: 1024, Env: "MB_IMPORT_MAX_MB",
			Help: "largest contact list accepted"},
		{Key: SettingImportMaxRows, Type: settings.Int, Default: "200000", Min: 1, Max: 10_000_000, Env: "MB_IMPORT_MAX_ROWS",
			Help: "most rows in one contact list"},
		{Key: SettingImportMaxZip, Type: settings.Int, Default: "200", Unit: "MB", Min: 1, Max: 10_240, Env: "MB_IMPORT_MAX_UNZIPPED_MB",
			Help: "largest uncompressed size of an .xlsx (zip-bomb guard)"},
		{Key: SettingImportMaxCell, Type: settings.Int, Default: "1000", Unit: "characters", Min: 10, Max: 100_000, Env: "MB_IMPORT_MAX_CELL",
			Help: "longest cell accepted in a contact list"},
		{Key: SettingMediaMaxImageMB, Type: settings.Int, Default: "5", Unit: "MB", Min: 1, Max: 100,
			Help: "largest image (JPEG, PNG) accepted for saved messages and /send (WhatsApp takes 5 MB)"},
		{Key: SettingMediaMaxVideoMB, Type: settings.Int, Default: "16", Unit: "MB", Min: 1, Max: 100,
			Help: "largest video (MP4, 3GP) accepted for saved messages and /send (WhatsApp takes 16 MB)"},
		{Key: SettingMediaCleanupGrace, Type: settings.Duration, Default: "24h", Min: float64(time.Hour), Max: float64(365 * 24 * time.Hour),
			Help: "a media file no message or queued send uses is deleted only after it has been unused this long"},
		{Key: SettingMediaCleanupSchedule, Default: "@daily", Check: checkSchedule,
			Help: "when unused media files are deleted: a cron schedule in UTC (five fields, or @daily, @every 12h; CRON_TZ=Asia/Kolkata in front for another zone)"},
		{Key: SettingTemplateSyncSchedule, Default: "@daily", Check: checkSchedule,
			Help: "when the message templates are read from the provider account, as /templates sync does: a cron schedule in UTC (five fields, or @daily, @every 12h)"},
	}
	return append(defs, inboundSettingDefs()...)
}

func checkSavedName(v string) error {
	if err := store.ValidateSavedMessageName(v); err != nil {
		return errors.New(err.Error())
	}
	return nil
}

func checkSchedule(v string) error {
	if _, err := cron.ParseStandard(v); err != nil {
		return errors.New("use a cron schedule such as @daily, @every 12h or 30 3 * * *")
	}
	return nil
}

func checkRegion(v string) error {
	if !phone.KnownRegion(v) {
		return errors.New("use a two-letter country code that has phone numbers, such as IN or AE")
	}
	return nil
}

func checkZone(v string) error {
	if _, err := time.LoadLocation(v); err != nil || v == "Local" {
		return errors.New("use a time zone name such as Asia/Kolkata or UTC")
	}
	return nil
}

// Region is the default phone region.
func (s *Service) Region(ctx context.Context) string {
	return strings.ToUpper(s.settings.String(ctx, SettingRegion))
}

// PhonePolicy is the intake phone policy from the settings.
func (s *Service) PhonePolicy(ctx context.Context) phone.Policy {
	return phone.Policy{Region: s.Region(ctx), AllowForeign: s.settings.Bool(ctx, SettingAllowForeign)}
}

// PhoneExample shows the accepted number formats of the region.
func (s *Service) PhoneExample(ctx context.Context) string { return phone.Example(s.Region(ctx)) }

// MaxNumbers is the most phone numbers one staff send may hold.
func (s *Service) MaxNumbers(ctx context.Context) int {
	return s.settings.Int(ctx, SettingMaxNumbers)
}

// DedupeWindow is how long a number counts as already queued.
func (s *Service) DedupeWindow(ctx context.Context) time.Duration {
	return s.settings.Duration(ctx, SettingDedupeWindow)
}

// Location is the display and schedule time zone.
func (s *Service) Location(ctx context.Context) *time.Location {
	name := s.settings.String(ctx, SettingTimezone)
	// Loading a zone reads the zoneinfo file: keep the last one loaded.
	s.zoneMu.Lock()
	defer s.zoneMu.Unlock()
	if s.zone != nil && s.zoneName == name {
		return s.zone
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.FixedZone("IST", 5*3600+1800)
	}
	s.zone, s.zoneName = loc, name
	return loc
}

// ImportLimits are the contact-list limits from the settings.
func (s *Service) ImportLimits(ctx context.Context) importer.Limits {
	return importer.Limits{
		MaxBytes:         int64(s.settings.Int(ctx, SettingImportMaxMB)) << 20,
		MaxRows:          s.settings.Int(ctx, SettingImportMaxRows),
		MaxUnzippedBytes: int64(s.settings.Int(ctx, SettingImportMaxZip)) << 20,
		MaxCellLen:       s.settings.Int(ctx, SettingImportMaxCell),
	}
}

// Settings returns every setting with its current value. Secret values
// come back masked: the operations never hand a secret to a face.
func (s *Service) Settings(ctx context.Context, a Actor) ([]settings.Value, error) {
	if err := s.require(a, RoleOperator, "reading the settings"); err != nil {
		return nil, err
	}
	vals, err := s.settings.Values(ctx)
	if err != nil {
		return nil, err
	}
	for i := range vals {
		if vals[i].Secret {
			vals[i].Value = settings.Mask(vals[i].Value)
		}
	}
	return vals, nil
}

// Setting returns one setting's definition and current value (masked when
// secret); ENOTFOUND for an unknown key.
func (s *Service) Setting(ctx context.Context, key string) (settings.Value, error) {
	v, err := s.settings.Lookup(ctx, key)
	if errors.Is(err, settings.ErrUnknown) {
		return settings.Value{}, s.unknownSetting(key)
	}
	if v.Secret {
		v.Value = settings.Mask(v.Value)
	}
	return v, err
}

func (s *Service) unknownSetting(key string) error {
	var near []string
	group, _, _ := strings.Cut(strings.ToLower(key), ".")
	for _, k := range s.settings.Registry().Keys() {
		if strings.HasPrefix(k, group+".") {
			near = append(near, k)
		}
	}
	if len(near) > 0 {
		return Errorf(ENOTFOUND, "There is no setting %q. Did you mean %s?", Echo(key), strings.Join(near, ", "))
	}
	return Errorf(ENOTFOUND, "There is no setting %q; /settings lists them.", Echo(key))
}

// SetSetting validates and stores a setting as a, taking effect without a
// restart. The registry says who may change it; the gateway choice follows
// UseGateway's rule. Secret values are accepted only where the face says
// the channel is fit for them (secretOK): never from chat. The change is
// audited, secrets masked.
func (s *Service) SetSetting(ctx context.Context, a Actor, key, value string, secretOK bool) (settings.Value, error) {
	d, ok := s.settings.Registry().Def(key)
	if !ok {
		return settings.Value{}, s.unknownSetting(key)
	}
	if !d.MayChange(a.Role) {
		need := d.Role
		if need == "" {
			need = RoleAdmin
		}
		return settings.Value{}, Errorf(EFORBIDDEN, "Sorry, changing %s needs the %s role; you are %s.", d.Key, need, orNone(a.Role))
	}
	if d.Secret && !secretOK {
		return settings.Value{}, Errorf(EFORBIDDEN, "%s is a secret: set it on the admin page or with the %s variable, never in a chat. Nothing was changed.", d.Key, d.EnvVar())
	}
	if d.Key == SettingActiveGateway {
		if err := s.UseGateway(ctx, a, value, false); err != nil {
			return settings.Value{}, err
		}
		return s.Setting(ctx, d.Key)
	}
	if strings.TrimSpace(value) == "" {
		// The active gateway's staff flow carries every staff message:
		// unsetting it would leave staff sends with nothing to go as.
		active := s.ActiveGateway(ctx)
		if g, ok := s.gateway(active); ok && g.StaffFlowSetting == d.Key && !g.Caps.Text {
			return settings.Value{}, Errorf(ECONFLICT, "Not changed: %s is the active gateway and sends staff messages as this flow. Switch to another gateway first.", active)
		}
	}
	if err := s.checkIntakeTemplateSetting(ctx, d.Key, value); err != nil {
		return settings.Value{}, err
	}
	if d.Key == SettingIntakeMessage && strings.TrimSpace(value) != "" {
		// Staff sends would be refused from now on: name a message that can
		// be sent.
		if _, err := s.intakeContent(ctx, s.ActiveGateway(ctx), strings.TrimSpace(value)); err != nil {
			return settings.Value{}, err
		}
	}
	old, _ := s.settings.Lookup(ctx, d.Key)
	v, err := s.settings.Set(ctx, d.Key, value, a.Identity)
	var ie *settings.InvalidError
	if errors.As(err, &ie) {
		return settings.Value{}, Errorf(EINVALID, "%s: %s.", ie.Key, strings.TrimSuffix(ie.Message, "."))
	}
	if err != nil {
		return settings.Value{}, err
	}
	s.audit(ctx, a, "setting", fmt.Sprintf("%s: %s → %s", d.Key, old.Shown(), v.Shown()), "ok")
	s.cfg.Notify()
	if v.Secret {
		v.Value = settings.Mask(v.Value)
	}
	return v, nil
}
