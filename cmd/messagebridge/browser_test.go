package main

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/messagebridge/messagebridge/commands/ops"
)

// chromiumPath finds Debian's chromium (or another Chrome) for the browser
// test. Without one the test skips, unless MB_TEST_REQUIRE_BROWSER is set
// (CI sets it and installs chromium).
func chromiumPath(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("MB_CHROMIUM"), "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	if os.Getenv("MB_TEST_REQUIRE_BROWSER") != "" {
		t.Fatal("MB_TEST_REQUIRE_BROWSER is set but no chromium was found (apt-get install chromium, or MB_CHROMIUM=/path)")
	}
	t.Skip("the browser test needs chromium, which is not installed here: apt-get install chromium (or set MB_CHROMIUM)")
	return ""
}

// artifactDir is where the browser test leaves its screenshots:
// MB_TEST_ARTIFACTS when set, else the test's temp dir.
func artifactDir(t *testing.T) string {
	if d := os.Getenv("MB_TEST_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

func testPNG(t *testing.T, path string) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 96, 64))
	for y := 0; y < 64; y++ {
		for x := 0; x < 96; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 2), 110, uint8(y * 3), 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestAdminPageInABrowser drives the admin page in headless chromium on a
// phone-sized screen: sign in, be refused switching to WHAPI before it is
// set up, save a WHAPI token and see it masked after a reload, switch, add
// an operator, upload an image as a saved message, and keep a screenshot.
func TestAdminPageInABrowser(t *testing.T) {
	chrome := chromiumPath(t)
	r := startAdminRig(t, env(t))
	dir := t.TempDir()
	img := filepath.Join(dir, "diwali-banner.png")
	testPNG(t, img)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(412, 915),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	// The first run starts the browser: without a timeout, which would
	// stop the browser with it.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	deadline := time.Now().Add(90 * time.Second)
	do := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithDeadline(bctx, deadline)
		defer cancel()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v\nserver log:\n%s", step, err, r.logs)
		}
	}
	text := func(step string, a chromedp.Action[string]) string {
		t.Helper()
		ctx, cancel := context.WithDeadline(bctx, deadline)
		defer cancel()
		v, err := chromedp.Run(ctx, a)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		return v
	}
	flash := func(step, want string) {
		t.Helper()
		do(step, chromedp.WaitVisible(chromedp.CSS(".flash")))
		if got := text(step, chromedp.Text(chromedp.CSS(".flash"))); !strings.Contains(got, want) {
			t.Fatalf("%s: the page says %q, want it to mention %q", step, got, want)
		}
	}
	fitsScreen := func(step string) {
		t.Helper()
		ctx, cancel := context.WithDeadline(bctx, deadline)
		defer cancel()
		fits, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth + 1`))
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if !fits {
			t.Errorf("%s: the page is wider than a phone screen", step)
		}
	}

	// 1. Sign in: the dashboard sends us to the login form and back.
	do("sign in",
		chromedp.Navigate(r.url+"/admin/"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), rigAdmin),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), rigPassword),
		chromedp.Click(chromedp.CSS(`form[action="/admin/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.Search(`//h1[text()="Dashboard"]`)),
	)
	fitsScreen("dashboard")

	// 2. Switching to WHAPI before its token is set is refused with the
	// reason, and the page offers to switch anyway.
	switchTo := func(step string) {
		t.Helper()
		do(step,
			chromedp.Navigate(r.url+"/admin/gateways"),
			chromedp.WaitVisible(chromedp.CSS(`input[name=gateway][value=whapi]`)),
			chromedp.Click(chromedp.CSS(`input[name=gateway][value=whapi]`)),
			chromedp.Click(chromedp.CSS(`form[action="/admin/gateways/active"] button[type=submit]`)),
		)
	}
	switchTo("switch gateway before set-up")
	flash("switch gateway before set-up", "not set up")
	do("switch anyway offered", chromedp.WaitVisible(chromedp.Search(`//button[text()="Switch anyway"]`)))
	if got := r.m.ops.ActiveGateway(context.Background()); got != "dryrun" {
		t.Fatalf("active gateway = %q after a refused switch", got)
	}
	fitsScreen("gateways")

	// 3. Save a WHAPI token, reload, and see it masked.
	const token = "wh4pi-Browser-Token-7Q2x"
	// From a freshly loaded page: the refusal above was a form's answer,
	// and its DOM may still be settling.
	do("save token",
		chromedp.Navigate(r.url+"/admin/gateways"),
		chromedp.WaitVisible(chromedp.CSS(`input[name="s:whapi.token"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="s:whapi.token"]`), token),
		chromedp.Click(chromedp.CSS(`form[action="/admin/gateways/whapi/credentials"] button[type=submit]`)),
	)
	flash("save token", "whapi.token")
	do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`input[name="s:whapi.token"]`)))
	placeholder := text("placeholder", func(ctx context.Context, tg *chromedp.Target) (string, error) {
		res, err := chromedp.AttributeValue(chromedp.CSS(`input[name="s:whapi.token"]`), "placeholder")(ctx, tg)
		return res.Value, err
	})
	value := text("value", chromedp.Value(chromedp.CSS(`input[name="s:whapi.token"]`)))
	html := text("html", chromedp.OuterHTML(chromedp.CSS("html")))
	if !strings.Contains(placeholder, "••••"+token[len(token)-4:]) || value != "" {
		t.Fatalf("after a reload the token field shows placeholder %q and value %q, want it masked to its last 4 characters and empty", placeholder, value)
	}
	if strings.Contains(html, token) || strings.Contains(html, token[:len(token)-4]) {
		t.Fatal("the page's HTML holds the token")
	}
	if got := r.m.settings.String(context.Background(), "whapi.token"); got != token {
		t.Fatal("the token typed on the page is not the one in use")
	}

	// Set up, WHAPI is taken.
	switchTo("switch gateway")
	flash("switch gateway", "whapi")
	if got := r.m.ops.ActiveGateway(context.Background()); got != "whapi" {
		t.Fatalf("active gateway = %q after the page switched to whapi", got)
	}

	// 4. Add an operator.
	do("add operator",
		chromedp.Navigate(r.url+"/admin/operators"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=identity]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=identity]`), "telegram:123456789"),
		chromedp.SetValue(chromedp.CSS(`select[name=role]`), "operator"),
		chromedp.Click(chromedp.CSS(`form[action="/admin/operators"] button[type=submit]`)),
	)
	flash("add operator", "telegram:123456789")
	if op, err := r.m.ops.Operator(context.Background(), "telegram:123456789"); err != nil || op.Role != ops.RoleOperator {
		t.Fatalf("operator after the page added it: %+v %v", op, err)
	}

	// 5. Upload an image as a saved message.
	do("upload image",
		chromedp.Navigate(r.url+"/admin/messages"),
		chromedp.WaitVisible(chromedp.CSS(`#new-message input[name=name]`)),
		chromedp.SendKeys(chromedp.CSS(`#new-message input[name=name]`), "Diwali banner"),
		chromedp.SendKeys(chromedp.CSS(`#new-message textarea[name=text]`), "Happy Diwali! 20% off today."),
		chromedp.SetUploadFiles(chromedp.CSS(`#new-message input[type=file]`), []string{img}),
		chromedp.Click(chromedp.CSS(`#new-message button[type=submit]`)),
	)
	flash("upload image", "Diwali banner")
	do("preview", chromedp.WaitVisible(chromedp.CSS(`.preview img`)))
	pctx, pcancel := context.WithDeadline(bctx, deadline)
	natural, err := chromedp.Run(pctx, chromedp.Poll[int](`(function(){ var i = document.querySelector('.preview img'); return i && i.complete && i.naturalWidth > 0 ? i.naturalWidth : 0; })()`, chromedp.WithPollingTimeout(10*time.Second)))
	pcancel()
	if err != nil || natural != 96 {
		t.Fatalf("the preview image is %d pixels wide (%v), want the uploaded 96", natural, err)
	}
	msgs, err := r.m.ops.Messages(context.Background(), ops.WebActor(rigAdmin), false)
	if err != nil || len(msgs) != 1 || msgs[0].Name != "Diwali banner" || msgs[0].Kind != "image" {
		t.Fatalf("saved messages after the upload: %+v %v", msgs, err)
	}
	fitsScreen("saved messages")

	// 6. Keep a screenshot.
	sctx, scancel := context.WithDeadline(bctx, deadline)
	shot, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	scancel()
	if err != nil {
		t.Fatal(err)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(shot))
	if err != nil || format != "png" || cfg.Width < 300 {
		t.Fatalf("screenshot: %s %dx%d %v", format, cfg.Width, cfg.Height, err)
	}
	out := filepath.Join(artifactDir(t), "admin-saved-messages.png")
	if err := os.WriteFile(out, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%dx%d)", out, cfg.Width, cfg.Height)
}
