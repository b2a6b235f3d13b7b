package registrytest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// stopGrace is how long a registry may take to exit after SIGTERM before it
// is killed.
const stopGrace = 5 * time.Second

// process is one running registry child process.
type process struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed once the process has exited
	waitErr error         // the process's exit status; read after exited
}

// startProcess runs "bin serve configPath" with its output written to the
// file at logPath, which it empties first so that the log describes this
// process alone.
func startProcess(bin, configPath, logPath string) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open registry log: %w", err)
	}
	// The child holds its own descriptor; ours is not needed after Start.
	defer logFile.Close()

	cmd := exec.Command(bin, "serve", configPath)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = registryEnv(os.Environ())
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s: %w", bin, err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// registryEnv drops the REGISTRY_* variables, which distribution reads as
// overrides of its configuration file, from env.
func registryEnv(env []string) []string {
	kept := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, "REGISTRY_") {
			kept = append(kept, kv)
		}
	}
	return kept
}

// stop asks the process to exit, kills it if it does not within stopGrace,
// and waits until it is gone.
func (p *process) stop() error {
	select {
	case <-p.exited:
		return nil
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop registry process %d: %w", p.cmd.Process.Pid, err)
	}
	select {
	case <-p.exited:
		return nil
	case <-time.After(stopGrace):
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill registry process %d: %w", p.cmd.Process.Pid, err)
	}
	<-p.exited
	return nil
}

// errExited reports that the registry process ended before it answered.
var errExited = errors.New("the registry exited before it answered")

// waitReady polls GET /v2/ on addr until the registry that sends instance in
// instanceHeader answers 200 or 401, the process exits, or ctx ends.
func (p *process) waitReady(ctx context.Context, addr, instance string) error {
	transport := &http.Transport{DisableKeepAlives: true}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: time.Second}
	url := "http://" + addr + "/v2/"

	ticker := time.NewTicker(20 * time.Millisecond)
	defer ticker.Stop()
	var last error
	for {
		if ok, err := probe(ctx, client, url, instance); ok {
			return nil
		} else if err != nil {
			last = err
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%w (%v)", errExited, p.waitErr)
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("no answer from %s: %w (last attempt: %v)", url, ctx.Err(), last)
			}
			return fmt.Errorf("no answer from %s: %w", url, ctx.Err())
		case <-ticker.C:
		}
	}
}

// probe makes one readiness request. It reports true when our registry
// answered, and an error describing why not otherwise.
func probe(ctx context.Context, client *http.Client, url, instance string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, fmt.Errorf("build readiness request: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	if resp.Header.Get(instanceHeader) != instance {
		return false, fmt.Errorf("another server holds %s", req.URL.Host)
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusUnauthorized {
		return false, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return true, nil
}
