// Package models holds the models that ship with quartz, embedded in the
// binary so that `quartz demo` needs no files. How each was trained is in
// README.md beside them.
package models
