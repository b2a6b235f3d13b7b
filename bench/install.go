package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/molecule-ai/promote/internal/registrytest"
	"github.com/molecule-ai/promote/promote"
)

// installHint says how to install a third-party tool.
func installHint(tool string) string {
	switch tool {
	case toolCrane:
		return "go install github.com/google/go-containerregistry/cmd/crane@v0.22.1"
	case toolRegctl:
		return "go install github.com/regclient/regclient/cmd/regctl@v0.11.7"
	case toolSkopeo:
		return "apt-get install -y skopeo"
	}
	return ""
}

// findTool resolves the executable of a third-party tool: dir first, then
// PATH, then $GOBIN and $GOPATH/bin.
func findTool(tool, dir string) (string, error) {
	if dir != "" {
		if p, ok := executable(filepath.Join(dir, tool)); ok {
			return p, nil
		}
	}
	if p, err := exec.LookPath(tool); err == nil {
		return p, nil
	}
	for _, d := range goBinDirs() {
		if p, ok := executable(filepath.Join(d, tool)); ok {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in %s: install it with %q (scripts/bench.sh does)", tool, searchedWhere(dir), installHint(tool))
}

// executable reports whether path is an executable file.
func executable(path string) (string, bool) {
	fi, err := os.Stat(path)
	return path, err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// searchedWhere describes where findTool looked.
func searchedWhere(dir string) string {
	if dir == "" {
		return "PATH, $GOBIN or $GOPATH/bin"
	}
	return dir + ", PATH, $GOBIN or $GOPATH/bin"
}

// goBinDirs lists where go install puts binaries.
func goBinDirs() []string {
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		return []string{gobin}
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		return nil
	}
	var dirs []string
	for p := range strings.SplitSeq(strings.TrimSpace(string(out)), string(os.PathListSeparator)) {
		if p != "" {
			dirs = append(dirs, filepath.Join(p, "bin"))
		}
	}
	return dirs
}

// build builds the command pkg into dir and returns its path.
func build(ctx context.Context, dir, pkg string) (string, error) {
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building %s (run the benchmark from the module root): %w\n%s", pkg, err, stderr.String())
	}
	return out, nil
}

// toolVersion returns what a tool says its version is, on one line.
func toolVersion(ctx context.Context, env []string, tool, bin string) string {
	var args []string
	switch tool {
	case toolCrane:
		args = []string{"version"}
	case toolRegctl:
		args = []string{"version", "--format", "{{.VCSTag}}"}
	case toolSkopeo:
		args = []string{"--version"}
	default:
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		return "unknown version"
	}
	return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "skopeo version "))
}

// install builds the rusage command and, unless given, the cli; finds the
// other tools among those listed; and writes skopeo's policy. It returns
// the tools that can run and, in smoke mode, those skipped as missing.
func (ts *toolSet) install(ctx context.Context, cfg config, tools []string) (run []string, skipped map[string]error, err error) {
	skipped = map[string]error{}
	if ts.rusage, err = build(ctx, ts.w.dir, "github.com/molecule-ai/promote/bench/rusage"); err != nil {
		return nil, nil, err
	}
	ts.usageFile = filepath.Join(ts.w.dir, "rusage.out")
	for _, tool := range tools {
		switch tool {
		case toolCore:
		case toolCLI, toolSigned:
			if ts.cli == "" {
				ts.cli = cfg.promoteBin
			}
			if ts.cli == "" {
				if ts.cli, err = build(ctx, ts.w.dir, "github.com/molecule-ai/promote/cmd/promote"); err != nil {
					return nil, nil, err
				}
			}
			ts.bins[tool] = ts.cli
		default:
			bin, err := findTool(tool, cfg.toolsDir)
			if err != nil {
				if cfg.smoke {
					skipped[tool] = err
					continue
				}
				return nil, nil, err
			}
			ts.bins[tool] = bin
		}
		run = append(run, tool)
	}
	if _, ok := ts.bins[toolSkopeo]; ok {
		ts.policy = filepath.Join(ts.w.dir, "policy.json")
		policy := `{"default":[{"type":"insecureAcceptAnything"}]}` + "\n"
		if err := os.WriteFile(ts.policy, []byte(policy), 0o600); err != nil {
			return nil, nil, fmt.Errorf("writing the skopeo policy: %w", err)
		}
	}
	if len(run) == 0 {
		return nil, nil, errors.New("no tool to run")
	}
	return run, skipped, nil
}

// configureRegctl tells regctl, when it runs, to reach the proxies over
// plain HTTP.
func (ts *toolSet) configureRegctl(ctx context.Context, proxies ...*registrytest.Proxy) error {
	bin, ok := ts.bins[toolRegctl]
	if !ok {
		return nil
	}
	for _, p := range proxies {
		acc := sample{maxRSS: -1}
		if _, err := ts.exec(ctx, &acc, bin, "registry", "set", "--tls", "disabled", p.Addr); err != nil {
			return fmt.Errorf("configuring regctl: %w", err)
		}
	}
	return nil
}

// setupTools finds the executables of the tools in cfg, builds the cli
// when none is given, and writes the tools' configuration. It returns the
// tools that can run and, in smoke mode, the third-party tools skipped as
// missing.
func setupTools(ctx context.Context, cfg config, w *world) (ts *toolSet, run []string, skipped map[string]error, err error) {
	ts = &toolSet{w: w, env: w.childEnv(), bins: map[string]string{}, coreOpts: []promote.Option{promote.WithAnonymous()}}
	if cfg.coreConcurrency > 0 {
		ts.coreOpts = append(ts.coreOpts, promote.WithConcurrency(cfg.coreConcurrency))
	}
	if run, skipped, err = ts.install(ctx, cfg, cfg.tools); err != nil {
		return nil, nil, nil, err
	}
	if err := ts.configureRegctl(ctx, w.proxy); err != nil {
		return nil, nil, nil, err
	}
	return ts, run, skipped, nil
}
