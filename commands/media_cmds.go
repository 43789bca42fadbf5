package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/messagebridge/messagebridge/bot"
	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/store/words"
)

// The saved-message library from the chat: /save, /messages, /message and
// its subcommands, and /media cleanup. Names with spaces are quoted:
// /save "Diwali offer" 20% off all week.

const saveUsage = `attach an image or video with the caption /save <name> [caption], or send /save <name> text <message>; quote a name with spaces: /save "Diwali offer" …`

// upload opens a chat attachment for the operations; close the returned
// closer when done.
func upload(ctx context.Context, a *bot.Attachment) (*ops.Upload, io.Closer, error) {
	rc, err := a.Open(ctx)
	if err != nil {
		var fe *bot.FileError
		if errors.As(err, &fe) {
			return nil, nil, userErrorf("%s", fe.Message)
		}
		return nil, nil, err
	}
	return &ops.Upload{Name: a.Name, MIME: a.MIME, Size: a.Size, Body: rc}, rc, nil
}

// messageName is the saved message a /message command names: the quoted
// name, or all its words.
func messageName(text, usage string) (string, error) {
	name, tail, ok := CutName(text)
	switch {
	case !ok:
		return "", userErrorf("Close the quotes around the name. Usage: %s", usage)
	case strings.HasPrefix(strings.TrimSpace(text), `"`) || strings.HasPrefix(strings.TrimSpace(text), "“"):
		if tail != "" {
			return "", userErrorf("Only the name goes after the command. Usage: %s", usage)
		}
	default:
		name = strings.Join(strings.Fields(text), " ")
	}
	if name == "" {
		return "", userErrorf("Which saved message? Usage: %s (/messages lists them)", usage)
	}
	return name, nil
}

// quoted writes a name as the chat takes it back.
func quoted(name string) string {
	if strings.ContainsAny(name, " \t") {
		return `"` + name + `"`
	}
	return name
}

// save keeps an attached image or video, or a text, as a saved message.
func (r *Router) save(ctx context.Context, c call) ([]bot.Reply, error) {
	name, tail, ok := CutName(c.cmd.Text)
	if !ok {
		return nil, userErrorf("Close the quotes around the name: %s", saveUsage)
	}
	if name == "" {
		return nil, userErrorf("Usage: %s", saveUsage)
	}
	req := ops.SaveRequest{Name: name}
	if a := c.msg.Attachment; a != nil {
		up, closer, err := upload(ctx, a)
		if err != nil {
			return nil, err
		}
		defer closer.Close()
		req.File, req.Text = up, tail
	} else {
		word := strings.Fields(tail + " ")
		if len(word) == 0 || !strings.EqualFold(word[0], "text") {
			shown := quoted(name)
			if ops.Echo(name) != name {
				shown = "<name>" // a reply never repeats long input
			}
			return nil, userErrorf("No image or video came with /save. Attach one with the caption /save %s [caption], or save a text with /save %s text <message>.",
				shown, shown)
		}
		req.Text = afterWords(tail, 1)
	}
	m, err := r.ops.SaveMessage(ctx, c.who, req)
	if err != nil {
		return nil, err
	}
	return text(fmt.Sprintf("Saved %q (%s). Preview it with /message %s; send it with /send <phone> %s.", m.Name, m.Kind, quoted(m.Name), quoted(m.Name))), nil
}

// messages lists the library.
func (r *Router) messages(ctx context.Context, c call) ([]bot.Reply, error) {
	all := false
	switch {
	case len(c.cmd.Args) == 0:
	case len(c.cmd.Args) == 1 && strings.EqualFold(c.cmd.Args[0], "all"):
		all = true
	default:
		return nil, userErrorf("Usage: /messages [all]")
	}
	list, err := r.ops.Messages(ctx, c.who, all)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		if all {
			return text("No saved messages yet. To keep one, " + saveUsage + "."), nil
		}
		return text("No active saved messages. /messages all shows archived ones too. To keep one, " + saveUsage + "."), nil
	}
	lines := []string{fmt.Sprintf("Saved messages (%d):", len(list))}
	for _, m := range list {
		line := fmt.Sprintf("• %s — %s", quoted(m.Name), m.Kind)
		if m.State != ops.SavedActive {
			line += " · " + string(m.State)
		}
		if body := strings.Join(strings.Fields(m.Body), " "); body != "" {
			line += " · " + words.Cut(body, 60)
		}
		lines = append(lines, line)
	}
	if !all {
		lines = append(lines, "Preview one with /message <name>; /messages all shows archived ones too.")
	}
	return text(strings.Join(lines, "\n")), nil
}

// messagePreview sends a saved message back as it would go out, file
// included.
func (r *Router) messagePreview(ctx context.Context, c call) ([]bot.Reply, error) {
	name, err := messageName(c.cmd.Text, "/message <name>")
	if err != nil {
		return nil, err
	}
	p, err := r.ops.PreviewMessage(ctx, c.who, name)
	if err != nil {
		return nil, err
	}
	m := p.Message
	head := fmt.Sprintf("%q · %s · %s", m.Name, m.Kind, m.State)
	if p.Media != nil {
		head += " · " + words.Size(p.Media.Size)
	}
	head += fmt.Sprintf(" · by %s, %s", m.UpdatedBy, r.ops.TimeText(ctx, m.UpdatedAt))
	if m.State == ops.SavedArchived {
		head += fmt.Sprintf("\nArchived: /message restore %s offers it again.", quoted(m.Name))
	}
	if p.Media == nil {
		return []bot.Reply{{Text: head}, {Text: m.Body}}, nil
	}
	rc, err := r.ops.OpenMedia(ctx, *p.Media)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, p.Media.Size+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) != p.Media.Size {
		return nil, fmt.Errorf("media %d: read %d bytes, want %d", p.Media.ID, len(data), p.Media.Size)
	}
	file := path.Base(p.Media.OriginalName)
	if p.Media.OriginalName == "" || file == "." || file == "/" {
		file = strings.ReplaceAll(m.Name, " ", "_") + path.Ext(p.Media.StorageKey)
	}
	return []bot.Reply{{Text: head}, {Text: m.Body, File: &bot.File{Name: file, MIME: p.Media.MIME, Data: data}}}, nil
}

// messageState archives, restores or deletes a saved message.
func messageState(state ops.SavedMessageState) func(r *Router, ctx context.Context, c call) ([]bot.Reply, error) {
	verb := map[ops.SavedMessageState]string{ops.SavedArchived: "archive", ops.SavedActive: "restore", ops.SavedDeleted: "delete"}[state]
	return func(r *Router, ctx context.Context, c call) ([]bot.Reply, error) {
		name, err := messageName(c.cmd.Text, "/message "+verb+" <name>")
		if err != nil {
			return nil, err
		}
		ch, err := r.ops.SetMessageState(ctx, c.who, name, state)
		if err != nil {
			return nil, err
		}
		n := ch.Message.Name
		var reply string
		switch state {
		case ops.SavedArchived:
			reply = fmt.Sprintf("Archived %q: it is kept but not offered for new sends. /message restore %s brings it back.", n, quoted(n))
		case ops.SavedActive:
			reply = fmt.Sprintf("%q is active again.", n)
		default:
			reply = fmt.Sprintf("Deleted %q; the name is free again. Sends already queued still go out; its file is removed by a later cleanup once nothing uses it.", n)
		}
		if ch.StaffMessage {
			reply += fmt.Sprintf("\nStaff sends use it (setting intake.message): they are refused until you /set intake.message <another saved message>%s.",
				map[bool]string{true: " or restore it", false: ""}[state == ops.SavedArchived])
		}
		return text(reply), nil
	}
}

// messageReplace gives an image or video message a new file.
func (r *Router) messageReplace(ctx context.Context, c call) ([]bot.Reply, error) {
	const usage = "attach the new image or video with the caption /message replace <name>"
	name, err := messageName(c.cmd.Text, usage)
	if err != nil {
		return nil, err
	}
	a := c.msg.Attachment
	if a == nil {
		return nil, userErrorf("No file came with the command: %s.", usage)
	}
	up, closer, err := upload(ctx, a)
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	m, err := r.ops.ReplaceMedia(ctx, c.who, name, *up)
	if err != nil {
		return nil, err
	}
	return text(fmt.Sprintf("Replaced the file of %q (now a %s); its name and caption stay. The old file is removed by a later cleanup once no queued send uses it.", m.Name, m.Kind)), nil
}

// mediaCleanup deletes the media files nothing uses.
func (r *Router) mediaCleanup(ctx context.Context, c call) ([]bot.Reply, error) {
	if len(c.cmd.Args) > 0 {
		return nil, userErrorf("Usage: /media cleanup")
	}
	res, err := r.ops.CleanupMedia(ctx, c.who, 0)
	if err != nil {
		return nil, err
	}
	if res.Candidates == 0 {
		return text("Nothing to clean up: every media file is in use, or was used too recently (setting media.cleanup_grace)."), nil
	}
	lines := []string{fmt.Sprintf("Media cleanup: deleted %s (%s).", words.Count(res.Deleted, "unused file"), words.Size(res.Bytes))}
	if res.Kept > 0 {
		lines = append(lines, fmt.Sprintf("%s came into use meanwhile and %s kept.", words.Number(res.Kept), words.Noun(res.Kept, "was")))
	}
	if res.Skipped > 0 {
		lines = append(lines, fmt.Sprintf("%s %s kept in another media store than the one in use, and %s left alone.", words.Number(res.Skipped), words.Noun(res.Skipped, "is"), words.Noun(res.Skipped, "was")))
	}
	if res.Failed > 0 {
		lines = append(lines, fmt.Sprintf("%d could not be removed from the media store; see the log.", res.Failed))
	}
	return text(strings.Join(lines, "\n")), nil
}
