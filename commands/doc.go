// Package commands parses and authorizes operator chat messages and turns
// them into queue, campaign and media operations.
package commands
