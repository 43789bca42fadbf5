package queue

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/messagebridge/messagebridge/store"
)

// fakeLibrary holds saved messages and media objects by id.
type fakeLibrary struct {
	saved map[int64]*Media
	media map[int64]*Media
}

func (f fakeLibrary) SavedMessage(_ context.Context, id int64) (string, Kind, *Media, error) {
	m, ok := f.saved[id]
	if !ok {
		return "", "", nil, store.ErrNotFound
	}
	return "caption", KindImage, m, nil
}

func (f fakeLibrary) Media(_ context.Context, id int64) (*Media, error) {
	m, ok := f.media[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	return m, nil
}

// savedOnly is a Library that is no MediaLibrary.
type savedOnly struct{ lib fakeLibrary }

func (s savedOnly) SavedMessage(ctx context.Context, id int64) (string, Kind, *Media, error) {
	return s.lib.SavedMessage(ctx, id)
}

// A template item becomes a delivery with every component, its media
// header read through the Library: from a saved message, or a media object.
func TestTemplateDeliveryResolvesHeaderMedia(t *testing.T) {
	t.Parallel()
	poster, clip := &Media{ID: 7, MIME: "image/jpeg", PublicURL: "https://cdn/p.jpg"}, &Media{ID: 9, MIME: "video/mp4"}
	lib := fakeLibrary{saved: map[int64]*Media{3: poster}, media: map[int64]*Media{9: clip}}
	l := &Loop{cfg: Config{Library: lib}}
	ctx := context.Background()
	item := func(h *store.TemplateHeader) store.QueueItem {
		return store.QueueItem{ID: 1, Phone: "+919876543201", Content: store.QueueContent{Kind: store.ContentTemplate, TemplateName: "diwali_offer",
			TemplateLanguage: "en", TemplateParams: []string{"Asha", "17"}, TemplateParamNames: []string{"first_name", "order_id"},
			TemplateHeader: h, TemplateButtons: []store.TemplateButton{{Index: 1, Text: "ord/17"}}}}
	}
	d, err := l.delivery(ctx, item(&store.TemplateHeader{Format: store.HeaderImage, SavedMessageID: 3}))
	if err != nil {
		t.Fatal(err)
	}
	want := Template{Name: "diwali_offer", Language: "en", Params: []string{"Asha", "17"}, ParamNames: []string{"first_name", "order_id"},
		Header: &TemplateHeader{Format: "image", Media: poster}, Buttons: []TemplateButton{{Index: 1, Text: "ord/17"}}}
	if d.Kind != KindTemplate || !reflect.DeepEqual(d.Template, want) {
		t.Fatalf("delivery %+v, want %+v", d.Template, want)
	}
	d, err = l.delivery(ctx, item(&store.TemplateHeader{Format: store.HeaderVideo, MediaID: 9}))
	if err != nil || d.Template.Header.Media != clip {
		t.Fatalf("media header: %+v, %v", d.Template.Header, err)
	}
	d, err = l.delivery(ctx, item(&store.TemplateHeader{Format: store.HeaderText, Text: "Hi Asha", Name: "greeting"}))
	if err != nil || d.Template.Header.Text != "Hi Asha" || d.Template.Header.Name != "greeting" || d.Template.Header.Media != nil {
		t.Fatalf("text header: %+v, %v", d.Template.Header, err)
	}
	// A header whose saved message is gone fails for good, not retried.
	_, err = l.delivery(ctx, item(&store.TemplateHeader{Format: store.HeaderImage, SavedMessageID: 4}))
	var ce *SendError
	if !errors.As(err, &ce) || ce.Class != Permanent {
		t.Fatalf("gone header: %v", err)
	}
	// A media id needs a MediaLibrary.
	l.cfg.Library = savedOnly{lib}
	if _, err := l.delivery(ctx, item(&store.TemplateHeader{Format: store.HeaderVideo, MediaID: 9})); !errors.Is(err, ErrNoLibrary) {
		t.Fatalf("media id without a MediaLibrary: %v", err)
	}
}
