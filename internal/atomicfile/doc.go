// Package atomicfile writes files so that readers, and the file system
// after a crash or an interrupted run, see either the old content or the
// new, never a partial file: data goes to a temporary file in the same
// folder, is synced, and is renamed over the target.
package atomicfile
