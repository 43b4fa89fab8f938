package contract

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// keysDocumented is where an unknown key's message sends the reader when no
// known key is near it.
const keysDocumented = "the keys are listed in the README's config reference and in Pulumi.yaml"

// UnknownKeys reports every key of the slipway namespace in config (given as
// the engine passes it, "namespace:key" → value) that Keys does not declare:
// the program never reads such a key, so a typo of one would silently deploy
// the default. A key without a namespace counts as the project's, as the
// engine reads it. Keys of other namespaces (aws:, github:) are left alone.
// Each problem (sorted, joined) names the nearest known key when one is near.
func UnknownKeys(config map[string]string) error {
	var unknown []string
	for key := range config {
		namespace, name, _ := strings.Cut(fullKey(key), ":")
		if namespace == Project && !known(name) {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	errs := make([]error, len(unknown))
	for i, name := range unknown {
		hint := keysDocumented
		if near := nearestKey(name); near != "" {
			hint = "did you mean " + fullKey(near) + "?"
		}
		errs[i] = fmt.Errorf("config %s: unknown key, which the program would ignore; %s", fullKey(name), hint)
	}
	return errors.Join(errs...)
}

func known(name string) bool {
	for _, k := range Keys {
		if k.Name == name {
			return true
		}
	}
	return false
}

// nearestKey is the known key nearest to name in edit distance, ignoring
// case (so a key differing only in case is nearest of all), if it is near
// enough to be the intended one (at most a third of its letters differ);
// else "".
func nearestKey(name string) string {
	best, bestDistance := "", 0
	for _, k := range Keys {
		d := editDistance(strings.ToLower(name), strings.ToLower(k.Name))
		if d <= max(1, len(k.Name)/3) && (best == "" || d < bestDistance) {
			best, bestDistance = k.Name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b: the fewest
// single-character insertions, deletions and substitutions turning a into b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := range ra {
		cur := make([]int, len(rb)+1)
		cur[0] = i + 1
		for j := range rb {
			cost := 1
			if ra[i] == rb[j] {
				cost = 0
			}
			cur[j+1] = min(prev[j+1]+1, cur[j]+1, prev[j]+cost)
		}
		prev = cur
	}
	return prev[len(rb)]
}
