package store

import (
	"context"
	"fmt"
)

// Schema lists, per table, its columns in order and its named indexes. It
// lets tests prove that both dialects' migrations build the same schema.
type Schema struct {
	Columns map[string][]string
	Indexes map[string][]string
}

// DescribeSchema reads the tables, columns and indexes of the database.
func (db *DB) DescribeSchema(ctx context.Context) (Schema, error) {
	s := Schema{Columns: map[string][]string{}, Indexes: map[string][]string{}}
	for _, q := range []struct {
		sql  string
		into map[string][]string
	}{{db.sql.listColumns, s.Columns}, {db.sql.listIndexes, s.Indexes}} {
		rows, err := db.x.QueryContext(ctx, q.sql)
		if err != nil {
			return Schema{}, fmt.Errorf("describe schema: %w", err)
		}
		for rows.Next() {
			var table, name string
			if err := rows.Scan(&table, &name); err != nil {
				_ = rows.Close()
				return Schema{}, fmt.Errorf("describe schema: %w", err)
			}
			q.into[table] = append(q.into[table], name)
		}
		if err := rows.Close(); err != nil {
			return Schema{}, fmt.Errorf("describe schema: %w", err)
		}
		if err := rows.Err(); err != nil {
			return Schema{}, fmt.Errorf("describe schema: %w", err)
		}
	}
	return s, nil
}
