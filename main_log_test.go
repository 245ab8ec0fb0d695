package main

import (
	"os"
	"testing"
)

// TestQuietSDKLogs: the SDK's levels follow the level Terraform keeps
// provider logs at, and never hide what a user asked for.
func TestQuietSDKLogs(t *testing.T) {
	envs := []string{"TF_LOG", "TF_LOG_PROVIDER", "TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK"}
	for _, c := range []struct {
		name string
		set  map[string]string
		want map[string]string // "" = left unset
	}{
		{"nothing set: off", nil, map[string]string{"TF_LOG_SDK": "OFF", "TF_LOG_SDK_PROTO": "OFF", "TF_LOG_SDK_FRAMEWORK": "OFF"}},
		{"TF_LOG_PROVIDER=debug wins", map[string]string{"TF_LOG": "trace", "TF_LOG_PROVIDER": "debug"}, map[string]string{"TF_LOG_SDK": "DEBUG", "TF_LOG_SDK_PROTO": "DEBUG", "TF_LOG_SDK_FRAMEWORK": "DEBUG"}},
		{"TF_LOG=info", map[string]string{"TF_LOG": "info"}, map[string]string{"TF_LOG_SDK": "INFO", "TF_LOG_SDK_PROTO": "INFO", "TF_LOG_SDK_FRAMEWORK": "INFO"}},
		{"TF_LOG=trace: untouched", map[string]string{"TF_LOG": "TRACE"}, map[string]string{"TF_LOG_SDK": "", "TF_LOG_SDK_PROTO": "", "TF_LOG_SDK_FRAMEWORK": ""}},
		{"TF_LOG=json: untouched", map[string]string{"TF_LOG": "json"}, map[string]string{"TF_LOG_SDK": "", "TF_LOG_SDK_PROTO": "", "TF_LOG_SDK_FRAMEWORK": ""}},
		{"user's SDK level kept", map[string]string{"TF_LOG_SDK_FRAMEWORK": "trace"}, map[string]string{"TF_LOG_SDK": "OFF", "TF_LOG_SDK_PROTO": "OFF", "TF_LOG_SDK_FRAMEWORK": "trace"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, e := range envs {
				t.Setenv(e, "")
				_ = os.Unsetenv(e)
			}
			for k, v := range c.set {
				t.Setenv(k, v)
			}
			quietSDKLogs()
			for k, want := range c.want {
				if got := os.Getenv(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}
