//! A todo read from a raw row: page statements select `Column::iter()` in order and decode by
//! index, which is faster than by name.

use sea_orm::{DbErr, QueryResult};
use todoql_entity::todo;

/// A todo from a row whose columns are `Column::iter()` in order (a page statement).
pub(crate) fn todo_from_row(row: &QueryResult) -> Result<todo::Model, DbErr> {
    Ok(todo::Model {
        id: row.try_get_by_index(0)?,
        user_id: row.try_get_by_index(1)?,
        title: row.try_get_by_index(2)?,
        description: row.try_get_by_index(3)?,
        due_date: row.try_get_by_index(4)?,
        is_completed: row.try_get_by_index(5)?,
        completed_at: row.try_get_by_index(6)?,
        created_at: row.try_get_by_index(7)?,
        updated_at: row.try_get_by_index(8)?,
    })
}

#[cfg(test)]
mod tests {
    use todoql_entity::todo::Column;

    #[test]
    fn todo_from_row_reads_the_columns_in_their_order() {
        use sea_orm::{IdenStatic, Iterable};
        let names: Vec<&str> = Column::iter().map(|c| c.as_str()).collect();
        assert_eq!(
            names,
            [
                "id",
                "user_id",
                "title",
                "description",
                "due_date",
                "is_completed",
                "completed_at",
                "created_at",
                "updated_at"
            ]
        );
    }
}
