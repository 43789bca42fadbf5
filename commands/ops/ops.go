// Package ops is the operations layer: the rules that the chat (package
// commands) and the admin web page (package webadmin) share. Operators and
// roles with the last-admin rule, the settings registry's reads and
// changes, the choice of gateway, staff intake, the life of a campaign,
// queue actions and reports each live here once. Operations take plain
// inputs and return plain results, or an *Error with a code and a message
// a person can read; they keep their invariants inside the store's
// transactions. Wording for a particular face (chat replies, HTML) is that
// face's job.
package ops

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/media"
	"github.com/messagebridge/messagebridge/store/settings"
)

// The domain types the faces see. They are the store's rows; the faces get
// them from here, so they never import the store themselves.
type (
	Operator       = store.Operator
	QueueItem      = store.QueueItem
	QueueStatus    = store.QueueStatus
	QueueContent   = store.QueueContent
	Campaign       = store.Campaign
	CampaignStats  = store.CampaignStats
	CampaignResult = store.CampaignResult
	AuditEntry     = store.AuditEntry
	GatewayState   = store.GatewayState
	Health         = queue.Health
	Warning        = queue.Warning
	Window         = queue.Window
)

// Roles, from least to most powerful.
const (
	RoleStaff    = store.RoleStaff
	RoleOperator = store.RoleOperator
	RoleAdmin    = store.RoleAdmin
)

// Queue statuses.
const (
	StatusQueued     = store.StatusQueued
	StatusProcessing = store.StatusProcessing
	StatusSent       = store.StatusSent
	StatusDelivered  = store.StatusDelivered
	StatusRead       = store.StatusRead
	StatusFailed     = store.StatusFailed
	StatusCancelled  = store.StatusCancelled
	// StatusOptedOut is what campaign reports call a message never sent
	// because its number opted out (stored as cancelled).
	StatusOptedOut = store.StatusOptedOut
)

// Campaign states.
const (
	CampaignDraft     = store.CampaignDraft
	CampaignScheduled = store.CampaignScheduled
	CampaignRunning   = store.CampaignRunning
	CampaignPaused    = store.CampaignPaused
	CampaignCompleted = store.CampaignCompleted
	CampaignCancelled = store.CampaignCancelled
)

// Content kinds.
const (
	ContentText         = store.ContentText
	ContentSavedMessage = store.ContentSavedMessage
	ContentTemplate     = store.ContentTemplate
	ContentFlow         = store.ContentFlow
)

// QueueStatuses lists every queue status in life order.
func QueueStatuses() []QueueStatus { return store.QueueStatuses() }

// Roles lists the roles from least to most powerful.
func Roles() []string { return []string{RoleStaff, RoleOperator, RoleAdmin} }

// Actor is who asks for an operation.
type Actor struct {
	// Identity is "telegram:123", "whatsapp:+91…", "console:local" or
	// "web:<user>".
	Identity string
	Role     string
	// Transport is where the request came from (telegram, web, …).
	Transport string
}

// Gateway describes one sending method to the rules.
type Gateway struct {
	Name string
	// Caps are what it can send.
	Caps queue.Capabilities
	// StaffFlowSetting names the setting with the flow that staff messages
	// are sent as, for a gateway that cannot send plain text (Shiprocket).
	StaffFlowSetting string
	// MinInterval is the gateway's own pacing: a campaign interval may
	// not be shorter.
	MinInterval time.Duration
	// Window is the customer-service window of a gateway that has one
	// (Meta: 24h): free-form messages only within it of the customer's
	// last message, templates otherwise; 0: none.
	Window time.Duration
	// Ready says why the gateway cannot send yet ("not set up: the
	// access token is empty"), "" when it can; nil: always ready.
	Ready func(ctx context.Context) string
	// Templates lists the message templates of the provider account
	// (every page) as catalog entries with their shape and status; nil
	// for a gateway without a template list. An error that cannot be
	// helped until an admin sets something up matches ErrNotSetUp
	// (NotSetUp).
	Templates func(ctx context.Context) ([]store.CatalogEntry, error)
}

// Store is the persistence the operations use; *store.DB satisfies it.
type Store interface {
	queue.ReportStore
	Operator(ctx context.Context, identity string) (store.Operator, error)
	Operators(ctx context.Context) ([]store.Operator, error)
	WithOperators(ctx context.Context, fn func(tx *store.OperatorTx) error) error
	Audit(ctx context.Context, e store.AuditEntry) error
	AuditLog(ctx context.Context, limit int) ([]store.AuditEntry, error)
	AuditPage(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error)
	UnblockGateway(ctx context.Context, gateway string) error

	EnqueueQueueItems(ctx context.Context, items []store.NewQueueItem) ([]int64, error)
	RecentItemForPhone(ctx context.Context, phone string, since time.Time) (store.QueueItem, error)
	QueueItem(ctx context.Context, id int64) (store.QueueItem, error)
	RecentQueueItems(ctx context.Context, f store.RecentFilter) ([]store.QueueItem, error)
	ResetQueueItem(ctx context.Context, id int64, actor string) (store.QueueItem, error)
	EditQueueItem(ctx context.Context, id int64, e store.QueueEdit, actor string) (store.QueueItem, error)
	CancelQueueItem(ctx context.Context, id int64, actor string) (store.QueueItem, error)
	ClaimStaffNotices(ctx context.Context, p store.NoticeClaim) ([]store.StaffNotice, error)
	FinishStaffNotice(ctx context.Context, id int64, token string, o store.NoticeOutcome) (bool, error)
	SavedMessageByName(ctx context.Context, name string) (store.SavedMessage, error)
	SavedMessageByID(ctx context.Context, id int64) (store.SavedMessage, error)
	SavedMessages(ctx context.Context, includeArchived bool) ([]store.SavedMessage, error)
	AddSavedMessage(ctx context.Context, m store.NewSavedMessage) (int64, error)
	SetSavedMessageState(ctx context.Context, name string, state store.SavedMessageState, actor string) (store.SavedMessage, error)
	ReplaceSavedMessageMedia(ctx context.Context, name string, mediaID int64, kind, actor string) (int64, error)
	EnqueueAttachment(ctx context.Context, m store.NewSavedMessage, items []store.NewQueueItem) (int64, []int64, error)
	MediaObject(ctx context.Context, id int64) (store.MediaObject, error)
	MediaObjectBySHA(ctx context.Context, sha256 string) (store.MediaObject, error)
	CreateMediaObject(ctx context.Context, m store.MediaObject, actor string) (int64, error)
	UnreferencedMedia(ctx context.Context, olderThan time.Time, limit int) ([]store.MediaObject, error)
	MarkMediaDeleted(ctx context.Context, id int64, olderThan time.Time) (bool, error)

	CreateCampaign(ctx context.Context, name, actor string) (store.Campaign, error)
	Campaign(ctx context.Context, id int64) (store.Campaign, error)
	Campaigns(ctx context.Context, limit int) ([]store.Campaign, error)
	DueCampaigns(ctx context.Context, status string, before time.Time) ([]int64, error)
	WithCampaign(ctx context.Context, id int64, fn func(tx *store.CampaignTx) error) (store.Campaign, error)
	AddCampaignContacts(ctx context.Context, id int64, contacts []store.NewContact) (added, duplicates, suppressed int, err error)
	CampaignContacts(ctx context.Context, id int64) ([]store.NewContact, error)
	ContactColumns(ctx context.Context, id int64) (map[string]int, int, error)
	CampaignStats(ctx context.Context, id int64) (store.CampaignStats, error)
	CampaignResults(ctx context.Context, id int64) ([]store.CampaignResult, error)
	AddOptOut(ctx context.Context, phone, reason, actor string) error
	AddOptOutFrom(ctx context.Context, o store.OptOut) (bool, error)
	RemoveOptOut(ctx context.Context, phone string) (bool, error)
	OptOutOf(ctx context.Context, phone string) (store.OptOut, error)

	RecordInbound(ctx context.Context, m store.InboundMessage) (store.InboundMessage, bool, error)
	InboundMessages(ctx context.Context, phone string, limit int) ([]store.InboundMessage, error)
	InboundMessage(ctx context.Context, id int64) (store.InboundMessage, error)
	CustomerWindow(ctx context.Context, gateway, phone string) (store.Window, error)
	ReleaseHeld(ctx context.Context, gateway, phone string) (int64, error)
	AddInboundNotices(ctx context.Context, inboundID int64, at time.Time, recipients []string) error
	LastQueuedBy(ctx context.Context, phone string, since time.Time) (string, error)
	LastContactID(ctx context.Context, campaignID int64) (int64, error)
	RemoveContactsAfter(ctx context.Context, campaignID, afterID int64) error

	CreateAdminUser(ctx context.Context, username, passwordHash string) (store.AdminUser, error)
	AdminUserByName(ctx context.Context, username string) (store.AdminUser, error)
	AdminUsers(ctx context.Context) ([]store.AdminUser, error)
	CountAdminUsers(ctx context.Context) (int, error)
	SetAdminPassword(ctx context.Context, id int64, passwordHash string) error
	DeleteAdminUser(ctx context.Context, username string, check func(left int) error) error
	TouchAdminLogin(ctx context.Context, id int64) error
	CreateWebSession(ctx context.Context, s store.NewWebSession) error
	WebSessionUser(ctx context.Context, tokenHash string, now time.Time) (store.WebSession, error)
	ExtendWebSession(ctx context.Context, tokenHash string, expires time.Time) error
	DeleteWebSession(ctx context.Context, tokenHash string) error
	DeleteWebSessionsOf(ctx context.Context, id int64) (int64, error)
	CreateSetupToken(ctx context.Context, tokenHash string, expires time.Time) error
	SetupFirstAdmin(ctx context.Context, tokenHash string, now time.Time, username, passwordHash string) (store.AdminUser, error)

	CatalogEntries(ctx context.Context, kind string) ([]store.CatalogEntry, error)
	CatalogEntry(ctx context.Context, kind, name string) (store.CatalogEntry, error)
	PutCatalogEntry(ctx context.Context, e store.CatalogEntry, actor string) (store.CatalogEntry, error)
	PutSyncedCatalogEntry(ctx context.Context, e store.CatalogEntry, actor string) (store.CatalogEntry, error)
	DeleteCatalogEntry(ctx context.Context, kind, name string) error
}

// Config wires a Service.
type Config struct {
	// Gateways are the sending methods admins may choose, the default
	// first.
	Gateways []Gateway
	// Notify wakes the delivery loop after something was queued; may be
	// nil.
	Notify func()
	// Now is the clock (time.Now).
	Now func() time.Time
	// Paces reports each gateway's send rate in force and configured (the
	// delivery loop's); may be nil.
	Paces func() []queue.GatewayPace
	// Media keeps the files of images and videos; nil means none can be
	// saved or sent.
	Media media.Store
	// MediaStorage names Media in the media objects' rows: "local" or
	// "s3" (default: "s3" for a *media.S3, "local" otherwise).
	MediaStorage string
	// TempDir holds uploads larger than a few MB while they are checked
	// (default: the system's).
	TempDir string
	// Imported, when set, is told how many contacts each successful
	// import added (metrics); may be nil.
	Imported func(rows int)
}

// Service runs the operations.
type Service struct {
	st       Store
	settings *settings.Reader
	cfg      Config
	rep      *queue.Reporter
	log      *slog.Logger
	// storage is cfg.MediaStorage resolved.
	storage string
	// mediaMu keeps a media cleanup (Lock) from deleting a file between
	// its upload and its recording (RLock).
	mediaMu sync.RWMutex
	// zone is the last campaign.timezone loaded, by name.
	zoneMu   sync.Mutex
	zone     *time.Location
	zoneName string
}

// New returns the operations over st, reading settings through r.
func New(st Store, r *settings.Reader, cfg Config, log *slog.Logger) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Notify == nil {
		cfg.Notify = func() {}
	}
	if len(cfg.Gateways) == 0 {
		cfg.Gateways = []Gateway{{Name: "dryrun", Caps: queue.Capabilities{Text: true, Media: true, Templates: true, Flows: true}}}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	storage := cfg.MediaStorage
	if storage == "" {
		storage = "local"
		if _, ok := cfg.Media.(*media.S3); ok {
			storage = "s3"
		}
	}
	s := &Service{st: st, settings: r, cfg: cfg, rep: queue.NewReporter(st, cfg.Now), log: log.With("component", "ops"), storage: storage}
	// Paused gateways are reported while they matter: the active one, or
	// one something still names.
	s.rep.Active = s.ActiveGateway
	return s
}

// audit records a change; a failed write is logged, never silent.
func (s *Service) audit(ctx context.Context, a Actor, action, detail, outcome string) {
	s.Audit(ctx, AuditEntry{Actor: a.Identity, Role: a.Role, Transport: a.Transport, Action: action, Detail: detail, Outcome: outcome})
}

// rank orders roles; -1 for an unknown one.
func rank(role string) int {
	for i, r := range Roles() {
		if r == role {
			return i
		}
	}
	return -1
}

// AtLeast reports whether role is at least need.
func AtLeast(role, need string) bool { return rank(role) >= 0 && rank(role) >= rank(need) }

func (s *Service) require(a Actor, need, what string) error {
	if !AtLeast(a.Role, need) {
		return Errorf(EFORBIDDEN, "Sorry, %s needs the %s role; you are %s.", what, need, orNone(a.Role))
	}
	return nil
}

func orNone(role string) string {
	if role == "" {
		return "not set up"
	}
	return role
}
