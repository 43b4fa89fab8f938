package contract

import (
	"regexp"
	"strings"
)

var toolPathPattern = regexp.MustCompile(`^[A-Za-z0-9._/-]+$`)

// PinnedRefWant says what PinnedRef accepts.
const PinnedRefWant = "a full 40-hex lowercase commit SHA of the slipway repository (git rev-parse HEAD); tags and branches can move under the pin"

// PinnedRef reports whether ref pins the tool repository: a full 40-hex
// lowercase commit SHA. Tags are refused: whoever can push to the slipway
// repository can move one, and the checked-out tool runs with the deploy
// role.
func PinnedRef(ref string) bool { return shaPattern.MatchString(ref) }

// ToolPathProblem checks ToolPath: a clean relative path inside the
// workspace. A checked-out tool repository may not be the workspace root,
// where it would replace the application's checkout.
func ToolPathProblem(path string, checkedOut bool) string {
	switch {
	case path == "":
		return "want the folder of slipway relative to the workspace, such as \".slipway\" or \"deploy\""
	case strings.HasPrefix(path, "/"):
		return "want a relative path: no leading \"/\""
	case !toolPathPattern.MatchString(path):
		return "want a relative path of letters, digits, . _ - and /"
	}
	for _, seg := range strings.Split(path, "/") {
		switch seg {
		case "..":
			return "want a path inside the workspace: no \"..\""
		case "", ".":
			if path != "." {
				return "want a clean path: no empty or \".\" segments, no trailing \"/\""
			}
		}
	}
	if path == "." && checkedOut {
		return "want a subfolder such as \".slipway\": checking ToolRepository out into the workspace root would replace the application's checkout"
	}
	return ""
}
