// Package docs holds the user documentation; its test keeps the docs true
// to the code: every condition reason is explained, every command in the
// docs names files, make targets and packages that exist.
package docs

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/servicecatalog/service-catalog/restrictions"
)

// Every condition reason the code sets is explained in troubleshooting.md.
func TestTroubleshootingExplainsEveryReason(t *testing.T) {
	root := repoRoot(t)
	doc, err := os.ReadFile(filepath.Join(root, "docs", "troubleshooting.md"))
	require.NoError(t, err)
	reason := regexp.MustCompile(`(?i)reason\w*\s*=\s*"([A-Z][A-Za-z]+)"`)
	found := 0
	for _, file := range goFiles(t, root) {
		src, err := os.ReadFile(file)
		require.NoError(t, err)
		for _, m := range reason.FindAllStringSubmatch(string(src), -1) {
			found++
			assert.True(t, strings.Contains(string(doc), "`"+m[1]+"`"), "docs/troubleshooting.md does not explain reason %s (set in %s)", m[1], file)
		}
	}
	assert.Greater(t, found, 20, "the reason constants were not found: has their form changed?")
}

// Commands in README.md, docs/ and the chart README refer to make targets,
// files and packages that exist. (The manifests they apply are applied by
// test/admission TestExamples, which covers every file in examples/.)
func TestCommandsReferToWhatExists(t *testing.T) {
	root := repoRoot(t)
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	require.NoError(t, err)
	targets := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^([a-z-]+):`).FindAllStringSubmatch(string(makefile), -1) {
		targets[m[1]] = true
	}
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	require.NoError(t, err)
	docs = append(docs, filepath.Join(root, "README.md"), filepath.Join(root, "charts", "service-catalog", "README.md"))

	path := regexp.MustCompile(`(?:^|[\s=])((?:\./)?(?:examples|charts|cmd|hack|docs|manifests|test)/[\w./-]*)`)
	commands := 0
	for _, doc := range docs {
		for _, cmd := range shellLines(t, doc) {
			commands++
			where := filepath.Base(doc) + ": " + cmd
			fields := strings.Fields(cmd)
			if fields[0] == "make" {
				for _, target := range fields[1:] {
					if strings.HasPrefix(target, "#") {
						break
					}
					if !strings.Contains(target, "=") {
						assert.True(t, targets[target], "%s: no make target %q", where, target)
					}
				}
			}
			for _, m := range path.FindAllStringSubmatch(cmd, -1) {
				p := strings.TrimSuffix(strings.TrimPrefix(m[1], "./"), "/...")
				p = strings.TrimSuffix(p, "/")
				_, err := os.Stat(filepath.Join(root, p))
				assert.NoError(t, err, "%s: %s does not exist", where, p)
			}
		}
	}
	assert.Greater(t, commands, 30, "no commands found: has the code block format changed?")
}

// Every doc in docs/ is linked from the README.
func TestReadmeLinksEveryDoc(t *testing.T) {
	root := repoRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	require.NoError(t, err)
	for _, doc := range docs {
		assert.True(t, strings.Contains(string(readme), "(docs/"+filepath.Base(doc)+")"), "README.md does not link docs/%s", filepath.Base(doc))
	}
}

// shellLines returns the command lines of the sh code blocks of a Markdown
// file, continuation lines joined.
func shellLines(t *testing.T, file string) []string {
	t.Helper()
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	var out []string
	inShell := false
	pending := ""
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		line := scanner.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "```sh"):
			inShell = true
			continue
		case strings.HasPrefix(trimmed, "```"):
			inShell = false
			continue
		}
		if !inShell || trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if strings.HasSuffix(trimmed, `\`) {
			pending += strings.TrimSuffix(trimmed, `\`) + " "
			continue
		}
		out = append(out, pending+trimmed)
		pending = ""
	}
	require.NoError(t, scanner.Err())
	return out
}

func goFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	for _, dir := range []string{"api", "controllers", "webhook", "injector"} {
		require.NoError(t, filepath.WalkDir(filepath.Join(root, dir), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
				out = append(out, p)
			}
			return err
		}))
	}
	slices.Sort(out)
	return out
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	return root
}

// core are fields of Pods and workloads the docs mention, not of this API.
var core = map[string]bool{
	"spec.template.metadata.annotations":                  true,
	"spec.jobTemplate.spec.template.metadata.annotations": true,
	"spec.schedulingGates":                                true,
}

// Field paths the docs name (`spec.x.y`, `status.x`) exist in the API, as
// the generated reference lists it.
func TestFieldPathsExist(t *testing.T) {
	root := repoRoot(t)
	reference, err := os.ReadFile(filepath.Join(root, "docs", "api-reference.md"))
	require.NoError(t, err)
	fields := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([^`]+)` \\|").FindAllStringSubmatch(string(reference), -1) {
		fields[strings.ReplaceAll(m[1], "[]", "")] = true
	}
	require.NotEmpty(t, fields)
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	require.NoError(t, err)
	docs = append(docs, filepath.Join(root, "README.md"), filepath.Join(root, "charts", "service-catalog", "README.md"))
	path := regexp.MustCompile("`((?:spec|status)\\.[A-Za-z.]+)")
	checked := 0
	for _, doc := range docs {
		if filepath.Base(doc) == "api-reference.md" {
			continue
		}
		data, err := os.ReadFile(doc)
		require.NoError(t, err)
		for _, m := range path.FindAllStringSubmatch(string(data), -1) {
			if core[m[1]] || slices.Contains(restrictions.PlanKeys, m[1]) {
				// Kubernetes' own fields, and the names catalogRestrictions
				// terms give fields (the retired project's).
				continue
			}
			checked++
			assert.True(t, fields[strings.TrimSuffix(m[1], ".")], "%s names %s, which no kind has (docs/api-reference.md)", filepath.Base(doc), m[1])
		}
	}
	assert.Greater(t, checked, 10)
}
