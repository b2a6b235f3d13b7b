package main

import (
	"net/url"
	"os/user"
	"strings"
)

// actor is who the promotion records name: --actor, else $GITHUB_ACTOR,
// else the user running promote. Never the machine's host name: records
// are public to anyone who can pull.
func (c *command) actor() string {
	if c.o.actor != "" {
		return c.o.actor
	}
	if a := c.getenv("GITHUB_ACTOR"); a != "" {
		return a
	}
	if c.getenv("USER") != "" {
		return c.getenv("USER")
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return ""
}

// runURL is the run the promotion records name: --run, else the GitHub
// Actions run of $GITHUB_SERVER_URL, $GITHUB_REPOSITORY and
// $GITHUB_RUN_ID, with /attempts/$GITHUB_RUN_ATTEMPT when set; else none.
func (c *command) runURL() string {
	if c.o.run != "" {
		return c.o.run
	}
	server, repo, id := c.getenv("GITHUB_SERVER_URL"), c.getenv("GITHUB_REPOSITORY"), c.getenv("GITHUB_RUN_ID")
	if server == "" || repo == "" || id == "" {
		return ""
	}
	u := strings.TrimRight(server, "/") + "/" + repo + "/actions/runs/" + url.PathEscape(id)
	if attempt := c.getenv("GITHUB_RUN_ATTEMPT"); attempt != "" {
		u += "/attempts/" + url.PathEscape(attempt)
	}
	return u
}
