package contract

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// VerifiedTagPrefix starts the tag the deploy tool gives an image once ECS
// verifiably runs it in a stack: verified-<stack>-<sha>. Besides
// deployed-<sha>, which says that some stack ran it (and keeps it from the
// lifecycle policy), this one says which: promote requires the tag of the
// stack it promotes from.
const VerifiedTagPrefix = "verified-"

// maxTagLength is the longest image tag ECR and Docker take (the OCI
// distribution spec's tag grammar, [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}).
const maxTagLength = 128

// maxTagStack is the longest stack name a verified tag carries as it is:
// the prefix, a hyphen and the 40-hex SHA take the rest of maxTagLength.
const maxTagStack = maxTagLength - len(VerifiedTagPrefix) - 1 - 40

// VerifiedTag is the tag of the image of sha that ECS verifiably ran in
// stack: verified-<stack>-<sha>. A stack name that does not fit in a tag
// (longer than 78 characters, or with characters a tag cannot hold) is
// written shortened, its invalid characters as '_', followed by '.' and
// the first 8 hex digits of its SHA-256, so that the tag stays valid,
// at most 128 characters, and distinct per stack. The SHA ends the tag:
// whatever the stack name, the tag names one stack and one SHA.
func VerifiedTag(stack, sha string) string {
	return VerifiedTagStackPrefix(stack) + sha
}

// VerifiedTagStackPrefix is what every verified tag of stack starts with:
// verified-<stack>- (the lifecycle policy keeps each environment's own).
func VerifiedTagStackPrefix(stack string) string {
	return VerifiedTagPrefix + tagStack(stack) + "-"
}

func tagStack(stack string) string {
	clean := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		}
		return '_'
	}, stack)
	if clean == stack && len(stack) > 0 && len(stack) <= maxTagStack {
		return stack
	}
	sum := sha256.Sum256([]byte(stack))
	const suffix = 1 + 8 // '.' and 8 hex digits
	if len(clean) > maxTagStack-suffix {
		clean = clean[:maxTagStack-suffix]
	}
	return clean + "." + hex.EncodeToString(sum[:])[:8]
}

// ValidateStack checks a stack name given on the command line as the
// config checks the stacks it names: letters, digits, '-', '_' or '.', at
// most 100 characters.
func ValidateStack(stack string) error {
	if !stackPattern.MatchString(stack) || strings.Trim(stack, ".") == "" {
		return fmt.Errorf("stack name %q: want a Pulumi stack name of letters, digits, '-', '_' or '.' (at most 100, not only dots), such as staging", Clip(stack))
	}
	return nil
}
