package f2fpay_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Paths in other repositories that comments cite by their path there. Anything else that
// looks like a document path must name a file of this repository.
var externalDocPaths = map[string]bool{
	"v3/docs/AlipayTradeApi.md": true, // alipay/alipay-sdk-java-all, cited in alipaysim/rest.go
}

var (
	// Notes that live outside the repository: a reader of the code cannot open them.
	outsideRefs = []*regexp.Regexp{
		regexp.MustCompile(`PROTOCOL(-vending)?\.md`),
		regexp.MustCompile(`(?i)\bseeds?\s+00\d`),
		regexp.MustCompile(`\.\./shared\b`),
	}
	// §6.2, §6.2 and §7, §3.1, §3.2 — the sections named right after a document path.
	sectionRefs = regexp.MustCompile(`^[ \t]*((?:§\d+(?:\.\d+)?(?:(?:,| and)[ \t]*)?)+)`)
	section     = regexp.MustCompile(`§(\d+(?:\.\d+)?)`)
	heading     = regexp.MustCompile(`(?m)^#{2,4} (\d+(?:\.\d+)?)\.? `)
)

// TestReferencesResolve keeps every reference in the repository openable: a path to a
// document (docs/… or any *.md) in a .go, .md, .sql or .yaml file must name a file or
// directory that exists — relative to the file, or to the repository root — and a
// section cited after it (docs/alipay-protocol.md §6.2) must be a numbered heading of
// that document. Notes kept outside the repository (the PROTOCOL notes, the seed
// documents, ../shared) may not be cited at all: what the code relies on is restated
// in docs/.
func TestReferencesResolve(t *testing.T) {
	t.Parallel()
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	headings := map[string]map[string]bool{} // document → its numbered sections
	sectionsOf := func(doc string) map[string]bool {
		if h, ok := headings[doc]; ok {
			return h
		}
		h := map[string]bool{}
		if b, err := os.ReadFile(doc); err == nil {
			for _, m := range heading.FindAllStringSubmatch(string(b), -1) {
				h[m[1]] = true
			}
		}
		headings[doc] = h
		return h
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	checked := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(name) {
		case ".go", ".md", ".sql", ".yaml":
		default:
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		if rel == "docs_test.go" { // this file names what it forbids
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checked++
		text := string(b)
		lineOf := func(off int) int { return strings.Count(text[:off], "\n") + 1 }
		for _, re := range outsideRefs {
			for _, loc := range re.FindAllStringIndex(text, -1) {
				t.Errorf("%s:%d: %q is outside the repository; cite docs/ instead", rel, lineOf(loc[0]), text[loc[0]:loc[1]])
			}
		}
		for _, loc := range docPaths(text) {
			ref := strings.TrimRight(text[loc[0]:loc[1]], "./")
			if !strings.HasSuffix(ref, ".md") && !strings.HasPrefix(ref, "docs/") &&
				!strings.HasPrefix(ref, "/docs/") && !strings.Contains(ref, "/docs/") {
				continue
			}
			if externalDocPaths[ref] || outsideRefs[0].MatchString(ref) { // the latter reported above
				continue
			}
			var found string
			for _, c := range []string{
				filepath.Join(filepath.Dir(path), ref),
				filepath.Join(root, ref),
				filepath.Join(root, strings.TrimPrefix(ref, "/")),
			} {
				if exists(c) {
					found = c
					break
				}
			}
			if found == "" {
				t.Errorf("%s:%d: %q names no file of the repository", rel, lineOf(loc[0]), ref)
				continue
			}
			if !strings.HasSuffix(found, ".md") {
				continue
			}
			m := sectionRefs.FindStringSubmatch(text[loc[1]:])
			if m == nil {
				continue
			}
			have := sectionsOf(found)
			for _, s := range section.FindAllStringSubmatch(m[1], -1) {
				if !have[s[1]] {
					t.Errorf("%s:%d: %s has no section §%s", rel, lineOf(loc[0]), ref, s[1])
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 {
		t.Fatalf("checked only %d files; is the test running at the repository root?", checked)
	}
}

func isPathByte(c byte) bool {
	return c == '_' || c == '.' || c == '/' || c == '-' ||
		'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// docPaths finds the spans of text that look like paths to documents: a word of path
// characters that ends in .md or contains docs/. Words that are part of a URL are
// skipped — a URL names another place. A linear scan: regular expressions that look
// left of ".md" were the slowest part of this test.
func docPaths(text string) [][2]int {
	var spans [][2]int
	seen := map[int]bool{}
	for _, needle := range []string{".md", "docs/"} {
		for from := 0; ; {
			i := strings.Index(text[from:], needle)
			if i < 0 {
				break
			}
			i += from
			from = i + len(needle)
			start, end := i, i+len(needle)
			for start > 0 && isPathByte(text[start-1]) {
				start--
			}
			for end < len(text) && isPathByte(text[end]) {
				end++
			}
			from = end
			if needle == ".md" && end != i+3 && !strings.HasPrefix(text[i+3:], ".") && !strings.HasPrefix(text[i+3:], "/") {
				continue // .mdx, .md5: not a Markdown path
			}
			if seen[start] || strings.HasPrefix(text[end:], "://") || inURL(text, start, end) {
				continue
			}
			seen[start] = true
			spans = append(spans, [2]int{start, end})
		}
	}
	return spans
}

// inURL reports whether the word text[start:end] is part of a URL: "://" before it
// (or at its start) with no break in between.
func inURL(text string, start, end int) bool {
	i := start
	for i > 0 && text[i-1] != ' ' && text[i-1] != '\n' && text[i-1] != '\t' && text[i-1] != '(' &&
		text[i-1] != '<' && text[i-1] != '"' && text[i-1] != '`' && text[i-1] != '\'' && text[i-1] != '[' {
		i--
	}
	return strings.Contains(text[i:end], "://")
}
