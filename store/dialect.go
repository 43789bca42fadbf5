package store

// Dialect names a SQL dialect the store speaks.
type Dialect string

// The supported dialects.
const (
	SQLite Dialect = "sqlite"
	MySQL  Dialect = "mysql"
)

func (d Dialect) driver() string { return string(d) }

// forUpdate is the suffix that locks selected rows for the transaction. SQLite
// needs none: a write transaction there already excludes every other writer.
func (d Dialect) forUpdate() string {
	if d == MySQL {
		return " FOR UPDATE"
	}
	return ""
}

// dialectSQL holds every statement whose text differs between dialects. Each
// dialect fills every field; a test checks that none is left empty. Statements
// that are the same in both dialects live next to the code that runs them.
type dialectSQL struct {
	// upsertSetting inserts or replaces a setting:
	// (name, value, is_secret, updated_at, updated_by).
	upsertSetting string
	// listColumns returns (table_name, column_name) of every table.
	listColumns string
	// listIndexes returns (table_name, index_name) of the indexes made by
	// CREATE INDEX.
	listIndexes string
	// upsertHeartbeat: (processor_id, hostname, pid, version, workers,
	// started_at, seen_at).
	upsertHeartbeat string
	// upsertGatewayState: (gateway, blocked_reason, blocked_at, updated_at).
	upsertGatewayState string
	// Report queries name their index where a planner without statistics
	// (SQLite's) would pick the status index and scan the whole table.
	// countByStatusSince: (created_at >= ?) → (status, n).
	countByStatusSince string
	// countFailedSince: (failed_at >= ?) → count.
	countFailedSince string
	// recentFailed: (limit) → queue rows, latest failure first.
	recentFailed string
	// upsertOperator: (identity, transport, role, display_name, created_at,
	// created_by, updated_at); an existing operator keeps its creation.
	upsertOperator string
	// upsertCursor: (name, position, updated_at).
	upsertCursor string
	// upsertGatewayMedia: (media_id, gateway, account, provider_media_id,
	// uploaded_at, expires_at).
	upsertGatewayMedia string
	// insertContactsIgnore starts a multi-row insert into campaign_contacts
	// (campaign_id, phone, name, variables, source_row, created_at) that
	// skips phones the campaign has; VALUES rows follow.
	insertContactsIgnore string
	// insertOptOutIgnore: (phone, reason, source, created_at, created_by);
	// an existing opt-out stays.
	insertOptOutIgnore string
	// upsertCatalogEntry: (kind, name, external_id, language, param_count,
	// created_at, created_by, updated_at, updated_by); an existing entry
	// keeps its id and creation.
	upsertCatalogEntry string
}

func sqlFor(d Dialect) dialectSQL {
	switch d {
	case MySQL:
		return mysqlSQL()
	default:
		return sqliteSQL()
	}
}

func sqliteSQL() dialectSQL {
	return dialectSQL{
		upsertSetting: `INSERT INTO settings (name, value, is_secret, updated_at, updated_by)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET value = excluded.value, is_secret = excluded.is_secret,
    updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
		listColumns: `SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite%' ORDER BY m.name, p.cid`,
		listIndexes: `SELECT tbl_name, name FROM sqlite_master
WHERE type = 'index' AND sql IS NOT NULL ORDER BY tbl_name, name`,
		upsertHeartbeat: `INSERT INTO processor_heartbeats (processor_id, hostname, pid, version, workers, started_at, seen_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (processor_id) DO UPDATE SET hostname = excluded.hostname, pid = excluded.pid,
    version = excluded.version, workers = excluded.workers, started_at = excluded.started_at, seen_at = excluded.seen_at`,
		upsertGatewayState: `INSERT INTO gateway_state (gateway, blocked_reason, blocked_at, updated_at) VALUES (?, ?, ?, ?)
ON CONFLICT (gateway) DO UPDATE SET blocked_reason = excluded.blocked_reason,
    blocked_at = excluded.blocked_at, updated_at = excluded.updated_at`,
		countByStatusSince: `SELECT status, COUNT(*) AS n FROM queue_items INDEXED BY queue_items_created
WHERE created_at >= ? GROUP BY status`,
		countFailedSince: `SELECT COUNT(*) FROM queue_items INDEXED BY queue_items_failed WHERE failed_at >= ? AND status = 'failed'`,
		recentFailed: `SELECT ` + queueColumns + ` FROM queue_items INDEXED BY queue_items_failed
WHERE failed_at IS NOT NULL AND status = 'failed' ORDER BY failed_at DESC, id DESC LIMIT ?`,
		upsertOperator: `INSERT INTO operators (identity, transport, role, display_name, created_at, created_by, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (identity) DO UPDATE SET role = excluded.role, updated_at = excluded.updated_at,
    display_name = CASE WHEN excluded.display_name = '' THEN operators.display_name ELSE excluded.display_name END`,
		upsertCursor: `INSERT INTO cursors (name, position, updated_at) VALUES (?, ?, ?)
ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at`,
		upsertGatewayMedia: `INSERT INTO gateway_media (media_id, gateway, account, provider_media_id, uploaded_at, expires_at)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (media_id, gateway, account) DO UPDATE SET provider_media_id = excluded.provider_media_id,
    uploaded_at = excluded.uploaded_at, expires_at = excluded.expires_at`,
		insertContactsIgnore: `INSERT OR IGNORE INTO campaign_contacts (campaign_id, phone, name, variables, source_row, created_at) VALUES `,
		insertOptOutIgnore:   `INSERT OR IGNORE INTO opt_outs (phone, reason, source, created_at, created_by) VALUES (?, ?, ?, ?, ?)`,
		upsertCatalogEntry: `INSERT INTO catalog_entries (kind, name, external_id, language, param_count, shape, status, category, synced_at,
    created_at, created_by, updated_at, updated_by)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (kind, name) DO UPDATE SET external_id = excluded.external_id, language = excluded.language,
    param_count = excluded.param_count, shape = excluded.shape, status = excluded.status, category = excluded.category,
    synced_at = excluded.synced_at, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
	}
}

// VALUES(col) rather than the "AS new" alias: MariaDB knows only the former.
func mysqlSQL() dialectSQL {
	return dialectSQL{
		upsertSetting: `INSERT INTO settings (name, value, is_secret, updated_at, updated_by)
VALUES (?, ?, ?, ?, ?)
ON DUPLICATE KEY UPDATE value = VALUES(value), is_secret = VALUES(is_secret),
    updated_at = VALUES(updated_at), updated_by = VALUES(updated_by)`,
		listColumns: `SELECT table_name, column_name FROM information_schema.columns
WHERE table_schema = DATABASE() ORDER BY table_name, ordinal_position`,
		listIndexes: `SELECT DISTINCT table_name, index_name FROM information_schema.statistics
WHERE table_schema = DATABASE() AND index_name <> 'PRIMARY' ORDER BY table_name, index_name`,
		upsertHeartbeat: `INSERT INTO processor_heartbeats (processor_id, hostname, pid, version, workers, started_at, seen_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON DUPLICATE KEY UPDATE hostname = VALUES(hostname), pid = VALUES(pid), version = VALUES(version),
    workers = VALUES(workers), started_at = VALUES(started_at), seen_at = VALUES(seen_at)`,
		upsertGatewayState: `INSERT INTO gateway_state (gateway, blocked_reason, blocked_at, updated_at) VALUES (?, ?, ?, ?)
ON DUPLICATE KEY UPDATE blocked_reason = VALUES(blocked_reason), blocked_at = VALUES(blocked_at),
    updated_at = VALUES(updated_at)`,
		countByStatusSince: `SELECT status, COUNT(*) AS n FROM queue_items FORCE INDEX (queue_items_created)
WHERE created_at >= ? GROUP BY status`,
		countFailedSince: `SELECT COUNT(*) FROM queue_items FORCE INDEX (queue_items_failed) WHERE failed_at >= ? AND status = 'failed'`,
		recentFailed: `SELECT ` + queueColumns + ` FROM queue_items FORCE INDEX (queue_items_failed)
WHERE failed_at IS NOT NULL AND status = 'failed' ORDER BY failed_at DESC, id DESC LIMIT ?`,
		upsertOperator: `INSERT INTO operators (identity, transport, role, display_name, created_at, created_by, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON DUPLICATE KEY UPDATE role = VALUES(role), updated_at = VALUES(updated_at),
    display_name = IF(VALUES(display_name) = '', display_name, VALUES(display_name))`,
		upsertCursor: `INSERT INTO cursors (name, position, updated_at) VALUES (?, ?, ?)
ON DUPLICATE KEY UPDATE position = VALUES(position), updated_at = VALUES(updated_at)`,
		upsertGatewayMedia: `INSERT INTO gateway_media (media_id, gateway, account, provider_media_id, uploaded_at, expires_at)
VALUES (?, ?, ?, ?, ?, ?)
ON DUPLICATE KEY UPDATE provider_media_id = VALUES(provider_media_id), uploaded_at = VALUES(uploaded_at),
    expires_at = VALUES(expires_at)`,
		insertContactsIgnore: `INSERT IGNORE INTO campaign_contacts (campaign_id, phone, name, variables, source_row, created_at) VALUES `,
		insertOptOutIgnore:   `INSERT IGNORE INTO opt_outs (phone, reason, source, created_at, created_by) VALUES (?, ?, ?, ?, ?)`,
		upsertCatalogEntry: `INSERT INTO catalog_entries (kind, name, external_id, language, param_count, shape, status, category, synced_at,
    created_at, created_by, updated_at, updated_by)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON DUPLICATE KEY UPDATE external_id = VALUES(external_id), language = VALUES(language),
    param_count = VALUES(param_count), shape = VALUES(shape), status = VALUES(status), category = VALUES(category),
    synced_at = VALUES(synced_at), updated_at = VALUES(updated_at), updated_by = VALUES(updated_by)`,
	}
}
