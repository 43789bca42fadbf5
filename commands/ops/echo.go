package ops

import (
	"strings"

	"github.com/messagebridge/messagebridge/store/words"
)

// maxEcho is the most characters of a person's input a reply repeats.
const maxEcho = 40

// Echo is input as a reply may repeat it: trimmed, at most 40 characters,
// "…" marking a cut. Every message that quotes what someone typed (a name,
// a number, a key) quotes it through Echo, so bad input of any length gets
// a short answer.
func Echo(input string) string { return words.Cut(strings.TrimSpace(input), maxEcho) }
