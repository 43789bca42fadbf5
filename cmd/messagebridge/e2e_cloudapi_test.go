package main

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/bot"
	"github.com/messagebridge/messagebridge/gateways/meta/metatest"
	"github.com/messagebridge/messagebridge/store"
)

// cloudRig is a whole MessageBridge on the meta gateway against the fake
// Cloud API, which enforces Meta's rules (the 24-hour window, approved
// template shapes) and posts its signed webhooks to the rig.
type cloudRig struct {
	*adminRig
	t    *testing.T
	fake *metatest.Server
}

const (
	cloudAdmin = "telegram:4242"
	cloudStaff = "telegram:77"
)

func startCloudRig(t *testing.T) *cloudRig {
	t.Helper()
	fake := metatest.New(t)
	fake.AddTemplate(metatest.Template{Name: "order_ready", Language: "en", Category: "UTILITY", Components: []metatest.Component{
		{Type: "BODY", Text: "Hello from {{1}}! Your order is ready to collect."}}})
	fake.AddTemplate(metatest.Template{Name: "diwali_offer", Language: "en", Category: "MARKETING", Components: []metatest.Component{
		{Type: "HEADER", Format: "IMAGE"},
		{Type: "BODY", Text: "Happy Diwali {{1}}! 20% off everything today."}}})
	fake.AddTemplate(metatest.Template{Name: "monsoon_sale", Language: "en", Status: "PAUSED", Category: "MARKETING", Components: []metatest.Component{
		{Type: "BODY", Text: "The monsoon sale is on."}}})
	r := startAdminRig(t, env(t, "MB_GATEWAY", "meta", "MB_META_BASE_URL", fake.URL(), "MB_META_ACCESS_TOKEN", fake.Token(),
		"MB_META_PHONE_NUMBER_ID", fake.PhoneNumberID(), "MB_META_APP_SECRET", fake.AppSecret(), "MB_META_WABA_ID", fake.WABAID(),
		"MB_RECIPIENT_SPACING", "0s", "MB_BOOTSTRAP_ADMINS", cloudAdmin))
	fake.SetWebhook(r.url + "/webhooks/meta")
	return &cloudRig{adminRig: r, t: t, fake: fake}
}

// say types text into identity's chat, with a file when data is set, and
// returns the replies.
func (c *cloudRig) say(identity, text string, file ...[]byte) string {
	c.t.Helper()
	transport, id, _ := strings.Cut(identity, ":")
	msg := bot.Message{Transport: transport, ChatID: id, From: bot.Identity{Transport: transport, ID: id}, Text: text, At: time.Now()}
	if len(file) == 2 {
		name, data := string(file[0]), file[1]
		msg.Attachment = &bot.Attachment{Name: name, Size: int64(len(data)),
			Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
	}
	var out []string
	for _, rep := range c.m.router.Handle(context.Background(), msg) {
		out = append(out, rep.Text)
	}
	return strings.Join(out, "\n")
}

// must says text and fails unless the reply holds want.
func (c *cloudRig) must(identity, text, want string, file ...[]byte) string {
	c.t.Helper()
	got := c.say(identity, text, file...)
	if !strings.Contains(got, want) {
		c.t.Fatalf("%s: reply has no %q:\n%s", text, want, got)
	}
	return got
}

// waitMessage waits for the fake to accept a message to wa (digits) that
// ok accepts.
func (c *cloudRig) waitMessage(what, wa string, ok func(metatest.Message) bool) metatest.Message {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, m := range c.fake.Messages() {
			if m.WaID == wa && ok(m) {
				return m
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("the fake Cloud API accepted no %s to %s within 20s; accepted %+v, refused %+v\nlogs:\n%s",
				what, wa, c.fake.Messages(), c.fake.Refusals(), c.logs)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// noRefusals fails when the fake refused anything: every send must have
// been shaped right before it left.
func (c *cloudRig) noRefusals() {
	c.t.Helper()
	if r := c.fake.Refusals(); len(r) > 0 {
		c.t.Fatalf("the fake Cloud API refused sends: %+v", r)
	}
}

func jpegBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for x := 0; x < 16; x++ {
		img.Set(x, x, color.RGBA{R: 200, G: 120, B: 20, A: 255})
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestCloudAPIStaffFlowFollowsTheWindow is issue 18's daily flow on a
// Cloud API that follows Meta's rules: a customer who has not written goes
// out as the intake template (never a refused free text); once the
// customer writes (a signed webhook) staff messages go as free text, and
// the reply shows in /inbox; a STOP reply opts the number out, and a later
// import counts it as suppressed.
func TestCloudAPIStaffFlowFollowsTheWindow(t *testing.T) {
	t.Parallel()
	c := startCloudRig(t)
	ctx := context.Background()

	c.must(cloudAdmin, "/templates sync", "3 added")
	list := c.must(cloudAdmin, "/templates", "diwali_offer")
	if !strings.Contains(list, "image") || !strings.Contains(list, "PAUSED") {
		t.Errorf("/templates does not show the image header and the paused template:\n%s", list)
	}
	c.must(cloudAdmin, "/operator add "+cloudStaff+" staff", "staff")
	// Without an intake template a closed window is said at once.
	c.must(cloudStaff, "98765 43210", "intake.template")
	if n := len(c.fake.Messages()) + len(c.fake.Refusals()); n != 0 {
		t.Fatalf("something was sent for an unreachable number: %d", n)
	}
	// The values come first: a template whose values are missing is not
	// taken.
	c.must(cloudAdmin, "/set intake.template order_ready", "needs 1 body value")
	c.must(cloudAdmin, "/set intake.template_params body={{staff}}", "now body={{staff}}")
	c.must(cloudAdmin, "/set intake.template order_ready", "now order_ready")

	c.must(cloudStaff, "98765 43210", "Queued #")
	tpl := c.waitMessage("intake template", "919876543210", func(m metatest.Message) bool { return m.Type == "template" })
	if tpl.Template == nil || tpl.Template.Name != "order_ready" || !strings.Contains(tpl.Text, "Hello from ") {
		t.Fatalf("the intake template went as %+v", tpl)
	}
	c.noRefusals()

	if _, status := c.fake.CustomerWrites("919876543210", "Is my order ready?"); status != 200 {
		t.Fatalf("the inbound webhook answered %d", status)
	}
	c.must(cloudStaff, "/inbox", "Is my order ready?")
	c.must(cloudStaff, "/send! 98765 43210", "Queued #")
	text := c.waitMessage("free text", "919876543210", func(m metatest.Message) bool { return m.Type == "text" })
	if text.Text == "" {
		t.Fatalf("the free text went empty: %+v", text)
	}
	c.must(cloudStaff, "/reply 98765 43210 Yes, come by after 5", "Queued #")
	c.waitMessage("reply", "919876543210", func(m metatest.Message) bool { return m.Text == "Yes, come by after 5" })
	c.noRefusals()

	if _, status := c.fake.CustomerWrites("919811122233", "  Stop "); status != 200 {
		t.Fatalf("the STOP webhook answered %d", status)
	}
	o, err := c.m.db.OptOutOf(ctx, "+919811122233")
	if err != nil || o.Source != store.OptOutSourceReply {
		t.Fatalf("STOP did not opt the number out as a customer reply: %+v, %v", o, err)
	}
	c.waitMessage("opt-out confirmation", "919811122233", func(m metatest.Message) bool {
		return m.Type == "text" && strings.Contains(m.Text, "START")
	})
	out := c.must(cloudAdmin, "/campaign new Diwali", "#")
	id := regexp.MustCompile(`#(\d+)`).FindStringSubmatch(out)[1]
	imp := c.must(cloudAdmin, "/import "+id, "opted out", []byte("diwali.csv"), []byte("phone,name\n9811122233,Bala\n9822233344,Chitra\n"))
	if !strings.Contains(imp, "1 opted out") && !strings.Contains(imp, "1 suppressed") {
		t.Errorf("the import does not count the opted-out number as suppressed:\n%s", imp)
	}
	c.noRefusals()
}

// TestCloudAPICampaignsSendTemplates: on the Cloud API a campaign of a
// plain saved text is refused at start, naming templates; a campaign of
// diwali_offer (an image header from a saved image and one body value from
// a column) sends components the fake checks against the approved shape.
func TestCloudAPICampaignsSendTemplates(t *testing.T) {
	t.Parallel()
	c := startCloudRig(t)
	c.must(cloudAdmin, "/templates sync", "3 added")
	contacts := []byte("phone,name\n9822233344,Chitra\n9833344455,Dev\n")

	c.must(cloudAdmin, "/save hello text Hello from the shop!", "hello")
	out := c.must(cloudAdmin, "/campaign new Plain", "#")
	plain := regexp.MustCompile(`#(\d+)`).FindStringSubmatch(out)[1]
	c.must(cloudAdmin, "/import "+plain, "2", []byte("plain.csv"), contacts)
	// Set on a gateway without a window, then meta becomes active: the
	// start is where the rule holds.
	c.must(cloudAdmin, "/gateway use dryrun", "dryrun")
	c.must(cloudAdmin, "/campaign set "+plain+" message=hello", "hello")
	c.must(cloudAdmin, "/gateway use meta", "meta")
	refused := c.say(cloudAdmin, "/campaign start "+plain)
	if !strings.Contains(refused, "template") || strings.Contains(refused, "started") {
		t.Fatalf("a plain campaign on meta was not refused naming templates:\n%s", refused)
	}
	if got := c.say(cloudAdmin, "/campaign set "+plain+" message=hello"); !strings.Contains(got, "template") {
		t.Errorf("/campaign set of a plain message on meta does not name templates:\n%s", got)
	}

	c.must(cloudAdmin, "/save poster", "poster", []byte("poster.jpg"), jpegBytes(t))
	out = c.must(cloudAdmin, "/campaign new Diwali", "#")
	id := regexp.MustCompile(`#(\d+)`).FindStringSubmatch(out)[1]
	c.must(cloudAdmin, "/import "+id, "2", []byte("diwali.csv"), contacts)
	if got := c.say(cloudAdmin, "/campaign set "+id+" template=diwali_offer body={{name}}"); !strings.Contains(got, "image header") {
		t.Errorf("a diwali_offer without its image header was not refused naming it:\n%s", got)
	}
	c.must(cloudAdmin, "/campaign set "+id+" template=diwali_offer header=poster body={{name}} interval=1s", "diwali_offer")
	c.must(cloudAdmin, "/campaign start "+id, "running")
	for wa, name := range map[string]string{"919822233344": "Chitra", "919833344455": "Dev"} {
		m := c.waitMessage("diwali_offer", wa, func(m metatest.Message) bool { return m.Type == "template" })
		if m.Template.Name != "diwali_offer" {
			t.Fatalf("sent %+v", m.Template)
		}
		h := m.Template.Component("header", 0)
		if h == nil || len(h.Parameters) != 1 || h.Parameters[0].Type != "image" || (h.Parameters[0].ID == "" && h.Parameters[0].Link == "") {
			t.Errorf("the header to %s is %+v", wa, h)
		}
		b := m.Template.Component("body", 0)
		if b == nil || len(b.Parameters) != 1 || b.Parameters[0].Text != name {
			t.Errorf("the body to %s is %+v, want %s", wa, b, name)
		}
	}
	if n := len(c.fake.Uploads()); n != 1 {
		t.Errorf("the poster was uploaded %d times, want once", n)
	}
	c.noRefusals()
}
