//! Keyset pagination shared by the todo list and the trash.
//!
//! A page is `WHERE <filter> AND (key, id) > (cursor key, cursor id) ORDER BY key, id LIMIT
//! first + 1` (`<` when descending): never OFFSET, so page 500 costs what page 1 costs, and
//! rows added or removed before the cursor do not shift later pages. The extra row answers
//! `hasNextPage`. When the caller wants `totalCount`, the page and the count come back from ONE
//! statement: a one-row `COUNT(*)` derived table LEFT JOINed to the page, so that even an empty
//! page carries the count. A page can also be read behind a gate (`Keyset::gated_statement`:
//! the todo list's session check), still in one statement.
//!
//! Rows without a key (todos without a due date) come last in both directions, ordered by id.

use crate::error::{AppError, AppResult};
use crate::paging::cursor::{Cursor, Direction, KeyValue, Ordering};
use sea_orm::sea_query::{
    Asterisk, Condition, Expr, ExprTrait, JoinType, NullOrdering, Order, Query, SelectStatement,
    UnionType, Value,
};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, IdenStatic, Iterable, QueryResult,
    Statement,
};
use uuid::Uuid;

/// Largest `first`.
pub const MAX_PAGE_SIZE: i32 = 100;

/// Which page a client asked for.
#[derive(Debug, Clone)]
pub struct PageRequest {
    /// Rows per page, 1..=100.
    pub first: u64,
    /// The cursor to continue after.
    pub after: Option<Cursor>,
    /// The ordering of the list.
    pub ordering: Ordering,
}

impl PageRequest {
    /// Checks `first` (BAD_USER_INPUT on `first`) and reads `after` (BAD_USER_INPUT on `after`
    /// when malformed or made for another ordering).
    pub fn new(first: i32, after: Option<&str>, ordering: Ordering) -> AppResult<Self> {
        if !(1..=MAX_PAGE_SIZE).contains(&first) {
            return Err(AppError::bad_input(
                "first",
                format!("first must be between 1 and {MAX_PAGE_SIZE}."),
            ));
        }
        let after = after
            .map(|text| Cursor::decode(text, ordering, "after"))
            .transpose()?;
        Ok(Self {
            first: first as u64,
            after,
            ordering,
        })
    }
}

/// One page of rows. Cursors are made when asked for (most lists select none).
#[derive(Debug, Clone)]
pub struct Page<M> {
    /// The rows, in list order.
    pub rows: Vec<M>,
    ordering: Ordering,
    cursor_of: fn(&M, Ordering) -> Cursor,
    /// Whether rows follow the last one.
    pub has_next_page: bool,
    /// Whether the page was asked for after a cursor. (Computing whether rows precede the
    /// cursor would cost a statement; the Relay spec lets forward pagination answer this way.)
    pub has_previous_page: bool,
    /// How many rows match the filter across all pages, when it was asked for.
    pub total_count: Option<u64>,
    /// The value of the keyset's `revision` statement, read by the page's own statement (so
    /// in the page's snapshot), when the keyset has one.
    pub revision: Option<i64>,
}

impl<M> Page<M> {
    /// The cursor of `row` (a row of this page).
    pub fn cursor(&self, row: &M) -> String {
        (self.cursor_of)(row, self.ordering).encode()
    }

    /// The cursor of the first row.
    pub fn start_cursor(&self) -> Option<String> {
        self.rows.first().map(|row| self.cursor(row))
    }

    /// The cursor of the last row.
    pub fn end_cursor(&self) -> Option<String> {
        self.rows.last().map(|row| self.cursor(row))
    }
}

/// A statement of one row or none that a page is read behind ([`Keyset::fetch_gated`]; the
/// todo list's gate is the session check): its text is written, not built, and becomes the
/// statement's common table expression `gate`.
pub(crate) struct Gate {
    /// How many columns its row has.
    pub columns: usize,
    /// Its text for a backend, with PostgreSQL's placeholders numbered from the given one on.
    pub text: fn(DatabaseBackend, usize) -> String,
    /// The values of its placeholders, in their order.
    pub values: Vec<Value>,
}

impl Gate {
    /// `WITH "gate" AS (<the gate>) <statement>`, with the values of both. On PostgreSQL the
    /// gate's placeholders follow the statement's (`$n + 1`, …), so that the statement's text
    /// is printed as it is; elsewhere placeholders are positional, and the gate's come first.
    fn before(self, statement: Statement) -> Statement {
        let backend = statement.db_backend;
        let mut values = statement.values.map(|values| values.0).unwrap_or_default();
        let gate = match backend {
            DatabaseBackend::Postgres => {
                let text = (self.text)(backend, values.len() + 1);
                values.extend(self.values);
                text
            }
            _ => {
                values.splice(0..0, self.values);
                (self.text)(backend, 1)
            }
        };
        let sql = format!("WITH \"gate\" AS ({gate}) {}", statement.sql);
        Statement::from_sql_and_values(backend, sql, values)
    }
}

/// A page read behind a gate ([`Keyset::fetch_gated`]), with the gate's row.
pub(crate) struct Gated<M> {
    /// The header row: the gate's columns start at `at`.
    pub gate: QueryResult,
    /// Where the gate's columns start in `gate`.
    pub at: usize,
    /// The page.
    pub page: Page<M>,
}

/// How one table is listed: the filter, the key and id columns, and how to make a cursor.
pub(crate) struct Keyset<E: EntityTrait> {
    /// Owner and filters.
    pub filter: Condition,
    /// The sort-key column.
    pub key: E::Column,
    /// The id column (tie-breaker).
    pub id: E::Column,
    /// The cursor of a row.
    pub cursor_of: fn(&E::Model, Ordering) -> Cursor,
    /// A row of the page statement as a model, read by position (`E::Column::iter()` order):
    /// reading by name costs a formatted name and a lookup per column and row.
    pub decode: fn(&QueryResult) -> Result<E::Model, DbErr>,
    /// A one-value statement read in the page's statement, as a scalar subquery (the todo
    /// list's change revision): no statement of its own, and the same snapshot as the rows.
    pub revision: Option<SelectStatement>,
}

fn key_value(value: &KeyValue) -> Value {
    match value {
        KeyValue::Time(at) => (*at).into(),
        KeyValue::Text(text) => text.clone().into(),
        KeyValue::Missing => Value::String(None),
    }
}

impl<E: EntityTrait> Keyset<E> {
    /// `left` comes after `right` in the list's direction.
    fn beyond(ordering: Ordering, left: Expr, right: Expr) -> Expr {
        match ordering.direction {
            Direction::Asc => left.gt(right),
            Direction::Desc => left.lt(right),
        }
    }

    /// Rows whose (key, id) comes after the cursor's: one index range.
    fn after_key(&self, ordering: Ordering, value: &KeyValue, id: Uuid) -> Expr {
        Self::beyond(
            ordering,
            Expr::tuple([Expr::col(self.key), Expr::col(self.id)]),
            Expr::tuple([Expr::val(key_value(value)), Expr::val(id)]),
        )
    }

    /// `SELECT <all columns> FROM <table> WHERE <filter> AND <condition>`.
    fn select(&self, condition: Condition) -> SelectStatement {
        Query::select()
            .columns(E::Column::iter())
            .from(E::default())
            .cond_where(Condition::all().add(self.filter.clone()).add(condition))
            .to_owned()
    }

    /// A page of a list whose key may be missing (missing keys last, in both directions).
    ///
    /// `(key, id) > (…) OR key IS NULL` would be one condition, but no index serves it, so
    /// the database would sort all of the user's rows on every page. Instead the rows with a
    /// key and the rows without one are two index ranges, each limited to one page, and the
    /// page is the first rows of their union.
    fn nullable_page(&self, request: &PageRequest) -> SelectStatement {
        let ordering = request.ordering;
        let limit = request.first + 1;
        let key = Expr::col(self.key);
        let order = match ordering.direction {
            Direction::Asc => Order::Asc,
            Direction::Desc => Order::Desc,
        };
        let without_key = |after: Option<Uuid>| {
            let mut condition = Condition::all().add(key.clone().is_null());
            if let Some(id) = after {
                condition =
                    condition.add(Self::beyond(ordering, Expr::col(self.id), Expr::val(id)));
            }
            self.select(condition)
                .order_by(self.id, order.clone())
                .limit(limit)
                .to_owned()
        };
        let with_key = match &request.after {
            // Past every row with a key: only rows without one remain.
            Some(Cursor {
                key: KeyValue::Missing,
                id,
                ..
            }) => return without_key(Some(*id)),
            Some(cursor) => Condition::all()
                .add(key.clone().is_not_null())
                .add(self.after_key(ordering, &cursor.key, cursor.id)),
            None => Condition::all().add(key.clone().is_not_null()),
        };
        let with_key = self
            .select(with_key)
            .order_by(self.key, order.clone())
            .order_by(self.id, order.clone())
            .limit(limit)
            .to_owned();
        let mut union = Query::select()
            .columns(E::Column::iter())
            .from_subquery(with_key, "with_key")
            .to_owned();
        union.union(
            UnionType::All,
            Query::select()
                .columns(E::Column::iter())
                .from_subquery(without_key(None), "without_key")
                .to_owned(),
        );
        let mut page = Query::select()
            .columns(E::Column::iter())
            .from_subquery(union, "keyed")
            .limit(limit)
            .to_owned();
        self.order(&mut page, ordering, None);
        page
    }

    fn order(&self, select: &mut SelectStatement, ordering: Ordering, table: Option<&'static str>) {
        let column = |c: E::Column| match table {
            Some(table) => Expr::col((table, c)),
            None => Expr::col(c),
        };
        let order = match ordering.direction {
            Direction::Asc => Order::Asc,
            Direction::Desc => Order::Desc,
        };
        if ordering.key.nullable() {
            select.order_by_expr_with_nulls(column(self.key), order.clone(), NullOrdering::Last);
        } else {
            select.order_by_expr(column(self.key), order.clone());
        }
        select.order_by_expr(column(self.id), order);
    }

    /// The rows matching the filter (no cursor, no limit): for counting.
    pub(crate) fn count_statement(&self) -> SelectStatement {
        Query::select()
            .expr_as(Expr::col(Asterisk).count(), "total_count")
            .from(E::default())
            .cond_where(self.filter.clone())
            .to_owned()
    }

    /// The page's rows, one more than asked (for hasNextPage), in list order.
    fn page_rows(&self, request: &PageRequest) -> SelectStatement {
        if request.ordering.key.nullable() {
            return self.nullable_page(request);
        }
        let mut page = match &request.after {
            Some(cursor) => self.select(Condition::all().add(self.after_key(
                request.ordering,
                &cursor.key,
                cursor.id,
            ))),
            None => self.select(Condition::all()),
        };
        page.limit(request.first + 1);
        self.order(&mut page, request.ordering, None);
        page
    }

    /// The position of the id column in a row.
    fn id_index(&self) -> usize {
        E::Column::iter()
            .position(|c| c.as_str() == self.id.as_str())
            .unwrap_or(0)
    }

    /// The page of `models` (one more than asked when more follow).
    fn page_of(
        &self,
        mut models: Vec<E::Model>,
        request: &PageRequest,
        total_count: Option<u64>,
        revision: Option<i64>,
    ) -> Page<E::Model> {
        let has_next_page = models.len() as u64 > request.first;
        models.truncate(request.first as usize);
        Page {
            rows: models,
            ordering: request.ordering,
            cursor_of: self.cursor_of,
            has_next_page,
            has_previous_page: request.after.is_some(),
            total_count,
            revision,
        }
    }

    /// The one statement of a page: the page's rows (one more than asked, for hasNextPage)
    /// and, with `with_count`, the total count on every row (a lone row of NULLs and the count
    /// when the page is empty).
    pub(crate) fn page_statement(
        &self,
        request: &PageRequest,
        with_count: bool,
    ) -> SelectStatement {
        let page = self.page_rows(request);
        if !with_count && self.revision.is_none() {
            return page;
        }
        // One row: the count and/or the revision, LEFT JOINed to the page.
        let mut header = if with_count {
            self.count_statement()
        } else {
            Query::select()
        };
        if let Some(revision) = &self.revision {
            header.expr_as(
                Expr::SubQuery(None, Box::new(revision.clone().into())),
                "revision",
            );
        }
        let counted = "counted";
        let rows = "page_rows";
        let mut outer = Query::select();
        for column in E::Column::iter() {
            outer.column((rows, column));
        }
        if with_count {
            outer.column((counted, "total_count"));
        }
        if self.revision.is_some() {
            outer.column((counted, "revision"));
        }
        outer.from_subquery(header, counted).join_subquery(
            JoinType::LeftJoin,
            page,
            rows,
            Expr::cust("1 = 1"),
        );
        self.order(&mut outer, request.ordering, Some(rows));
        outer
    }

    /// Fetches one page; with `with_count`, in the same single statement, the total count.
    pub(crate) async fn fetch<C: ConnectionTrait>(
        &self,
        db: &C,
        request: &PageRequest,
        with_count: bool,
    ) -> AppResult<Page<E::Model>> {
        let statement = self.page_statement(request, with_count);
        // With the count, the row is the model's columns, then total_count.
        let columns = E::Column::iter().count();
        let id_index = self.id_index();
        let mut total_count = None;
        let mut revision = None;
        let mut models = Vec::new();
        for row in db.query_all(&statement).await? {
            if with_count {
                let total: i64 = row.try_get_by_index(columns)?;
                total_count = Some(u64::try_from(total).unwrap_or(0));
            }
            if self.revision.is_some() {
                revision =
                    row.try_get_by_index::<Option<i64>>(columns + usize::from(with_count))?;
            }
            if with_count || self.revision.is_some() {
                // The LEFT JOIN yields one row of NULLs when the page is empty.
                if row.try_get_by_index::<Option<Uuid>>(id_index)?.is_none() {
                    continue;
                }
            }
            models.push((self.decode)(&row)?);
        }
        let total_count = total_count.or(if with_count { Some(0) } else { None });
        Ok(self.page_of(models, request, total_count, revision))
    }

    /// The page statement behind a gate (a [`Gate`], with `gate_columns` columns, named `gate`
    /// by [`Gate::before`]): the page is read only when the gate has its row. One statement, a
    /// `UNION ALL` of
    /// - the page's rows (one more than asked, for hasNextPage), each with NULLs in the
    ///   places of the header, and
    /// - one header row: NULLs in the places of the model's columns, then the total count
    ///   (when `with_count`; NULL otherwise), the `revision` statement's value (NULL without
    ///   one), then the gate's row,
    ///
    /// so the header's values come back once and not on every row. No gate row, no rows at all.
    pub(crate) fn gated_statement(
        &self,
        request: &PageRequest,
        with_count: bool,
        gate_columns: usize,
    ) -> SelectStatement {
        let gate_name = "gate";
        let listed = "listed";
        let null = || Expr::cust("NULL");
        let mut rows = Query::select();
        for column in E::Column::iter() {
            rows.expr_as(Expr::col((listed, column)), column);
        }
        rows.expr(null()).expr(null());
        for _ in 0..gate_columns {
            rows.expr(null());
        }
        rows.from_subquery(self.page_rows(request), listed)
            .and_where(Expr::exists(
                Query::select()
                    .expr(Expr::cust("1"))
                    .from(gate_name)
                    .to_owned(),
            ));
        let mut header = Query::select();
        for _ in E::Column::iter() {
            header.expr(null());
        }
        if with_count {
            header.expr(Expr::SubQuery(
                None,
                Box::new(self.count_statement().into()),
            ));
        } else {
            header.expr(null());
        }
        match &self.revision {
            Some(revision) => header.expr(Expr::SubQuery(None, Box::new(revision.clone().into()))),
            None => header.expr(null()),
        };
        header.column((gate_name, Asterisk)).from(gate_name);
        rows.union(UnionType::All, header);
        self.order(&mut rows, request.ordering, None);
        rows
    }

    /// A page behind a gate ([`Keyset::gated_statement`]): `None` when the gate has no row;
    /// otherwise the page and the gate's row, whose columns start at [`Gated::at`].
    pub(crate) async fn fetch_gated<C: ConnectionTrait>(
        &self,
        db: &C,
        request: &PageRequest,
        with_count: bool,
        gate: Gate,
    ) -> AppResult<Option<Gated<E::Model>>> {
        let statement = db.get_database_backend().build(&self.gated_statement(
            request,
            with_count,
            gate.columns,
        ));
        let statement = gate.before(statement);
        let columns = E::Column::iter().count();
        let id_index = self.id_index();
        let mut header = None;
        let mut models = Vec::new();
        for row in db.query_all_raw(statement).await? {
            // Every row of the page has its id; the header has none.
            if row.try_get_by_index::<Option<Uuid>>(id_index)?.is_none() {
                header = Some(row);
            } else {
                models.push((self.decode)(&row)?);
            }
        }
        let Some(header) = header else {
            return Ok(None);
        };
        let total_count = if with_count {
            let total: i64 = header.try_get_by_index(columns)?;
            Some(u64::try_from(total).unwrap_or(0))
        } else {
            None
        };
        let revision = match self.revision {
            Some(_) => header.try_get_by_index::<Option<i64>>(columns + 1)?,
            None => None,
        };
        let page = self.page_of(models, request, total_count, revision);
        Ok(Some(Gated {
            gate: header,
            at: columns + 2,
            page,
        }))
    }

    /// How many rows match the filter.
    pub(crate) async fn count<C: ConnectionTrait>(&self, db: &C) -> AppResult<u64> {
        let row = db.query_one(&self.count_statement()).await?;
        let total: i64 = match row {
            Some(row) => row.try_get("", "total_count")?,
            None => 0,
        };
        Ok(u64::try_from(total).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paging::cursor::SortKey;
    use sea_orm::ColumnTrait;
    use sea_orm::sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};
    use todoql_entity::todo;

    fn keyset() -> Keyset<todo::Entity> {
        Keyset {
            filter: Condition::all().add(todo::Column::UserId.eq(Uuid::nil())),
            key: todo::Column::DueDate,
            id: todo::Column::Id,
            cursor_of: |model, ordering| Cursor {
                ordering,
                key: KeyValue::Missing,
                id: model.id,
            },
            decode: crate::todos::row::todo_from_row,
            revision: None,
        }
    }

    fn request(after: Option<KeyValue>) -> PageRequest {
        let ordering = Ordering {
            key: SortKey::DueDate,
            direction: Direction::Desc,
        };
        PageRequest {
            first: 20,
            after: after.map(|key| Cursor {
                ordering,
                key,
                id: Uuid::nil(),
            }),
            ordering,
        }
    }

    #[test]
    fn the_count_is_in_the_statement_only_when_asked_for() {
        let without = keyset().page_statement(&request(None), false);
        let with = keyset().page_statement(&request(None), true);
        for (without, with) in [
            (
                without.to_string(SqliteQueryBuilder),
                with.to_string(SqliteQueryBuilder),
            ),
            (
                without.to_string(PostgresQueryBuilder),
                with.to_string(PostgresQueryBuilder),
            ),
        ] {
            assert!(!without.contains("COUNT"), "{without}");
            assert!(with.contains("COUNT(*)"), "{with}");
            assert!(!without.contains("OFFSET") && !with.contains("OFFSET"));
        }
    }

    #[test]
    fn a_gated_page_is_read_only_behind_its_gate_with_the_header_once() {
        let statement =
            DatabaseBackend::Sqlite.build(&keyset().gated_statement(&request(None), true, 1));
        let page_values = statement.values.clone().map_or(0, |v| v.0.len());
        let statement = one_gate().before(statement);
        let sqlite = &statement.sql;
        assert!(
            sqlite.starts_with(r#"WITH "gate" AS (SELECT ? AS "one") SELECT"#),
            "{sqlite}"
        );
        // Positional placeholders: the gate's value comes first.
        let values = statement.values.unwrap().0;
        assert_eq!(values.len(), page_values + 1);
        assert_eq!(values[0], Value::Int(Some(7)));
        // The page's rows only when the gate has its row; the header (count, gate) once.
        assert!(
            sqlite.contains(r#"WHERE EXISTS(SELECT 1 FROM "gate") UNION ALL SELECT NULL"#),
            "{sqlite}"
        );
        assert!(
            sqlite.contains(r#"(SELECT COUNT(*) AS "total_count""#),
            "{sqlite}"
        );
        assert!(sqlite.contains(r#""gate".* FROM "gate""#), "{sqlite}");
        assert!(
            sqlite.ends_with(r#"ORDER BY "due_date" DESC NULLS LAST, "id" DESC"#),
            "{sqlite}"
        );
    }

    /// On PostgreSQL the page's text is printed as it is ($1 …) and the gate's placeholders
    /// follow its own.
    #[test]
    fn a_gate_on_postgres_takes_the_placeholders_after_the_pages() {
        let statement =
            DatabaseBackend::Postgres.build(&keyset().gated_statement(&request(None), false, 1));
        let page_sql = statement.sql.clone();
        let page_values = statement.values.clone().map_or(0, |v| v.0.len());
        assert!(page_values >= 2, "{page_sql}");
        let statement = one_gate().before(statement);
        assert_eq!(
            statement.sql,
            format!(
                r#"WITH "gate" AS (SELECT ${} AS "one") {page_sql}"#,
                page_values + 1
            )
        );
        let values = statement.values.unwrap().0;
        assert_eq!(values.len(), page_values + 1);
        assert_eq!(values.last(), Some(&Value::Int(Some(7))));
    }

    /// A gate of one column and one value, 7.
    fn one_gate() -> Gate {
        Gate {
            columns: 1,
            text: |backend, first| match backend {
                DatabaseBackend::Postgres => format!(r#"SELECT ${first} AS "one""#),
                _ => r#"SELECT ? AS "one""#.to_owned(),
            },
            values: vec![Value::Int(Some(7))],
        }
    }

    #[test]
    fn a_page_is_a_keyset_range_with_missing_keys_last() {
        let time = chrono::DateTime::from_timestamp_micros(1).unwrap();
        let (sql, _) = keyset()
            .page_statement(&request(Some(KeyValue::Time(time))), false)
            .build(SqliteQueryBuilder);
        // Two index ranges: rows with a key after the cursor's, then rows without a key.
        assert!(
            sql.contains(r#""due_date" IS NOT NULL AND ("due_date", "id") < (?, ?)) ORDER BY "due_date" DESC, "id" DESC LIMIT ?"#),
            "{sql}"
        );
        assert!(
            sql.contains(r#"UNION ALL SELECT"#)
                && sql.contains(r#""due_date" IS NULL ORDER BY "id" DESC LIMIT ?"#),
            "{sql}"
        );
        assert!(
            sql.ends_with(r#"ORDER BY "due_date" DESC NULLS LAST, "id" DESC LIMIT ?"#),
            "{sql}"
        );
        assert!(!sql.contains(" OR "), "{sql}");

        let (sql, _) = keyset()
            .page_statement(&request(Some(KeyValue::Missing)), false)
            .build(SqliteQueryBuilder);
        assert!(sql.contains(r#""due_date" IS NULL AND "id" < ?"#), "{sql}");
        assert!(!sql.contains("UNION"), "{sql}");
    }
}
