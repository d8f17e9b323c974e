-- bylaw history store, version 2: what part of the repository a run
-- evaluated. NULL: the whole repository (imports, runs of version 1).
-- Otherwise JSON: {"paths": [root-relative files and directories
-- evaluated; empty = all], "changed": [root-relative changed files of
-- `--changed-only`] or null}. A finding of a file outside a run's scope is
-- not fixed by that run (README "Effectiveness metrics").

ALTER TABLE runs ADD COLUMN scope TEXT;
