//! Recovery codes: 10 per enrollment, each single use, shown once and stored only as hashes.
//!
//! A code is 12 characters of Crockford's base32 (60 random bits) written `xxxx-xxxx-xxxx`:
//! no I, L, O or U to misread, and what people type is forgiven (case, dashes, spaces, `o` for
//! 0, `i`/`l` for 1). The hash is SHA-256 of the user id and the code: 60 bits are too many to
//! try offline from a stolen table, and the user id keeps one table-wide guess from matching
//! every user's codes.

use crate::error::AppResult;
use crate::secrets::sha256_hex;
use crate::state::Ctx;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
};
use todoql_entity::recovery_code;
use uuid::Uuid;

/// Codes per enrollment or regeneration.
pub const COUNT: usize = 10;
/// Characters per code (5 bits each).
const LENGTH: usize = 12;
/// Characters per dash-separated group.
const GROUP: usize = 4;
/// Crockford's base32 alphabet, lower case.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
// Each character is 5 random bits; PRODUCT.md asks for at least 50 per code.
const _: () = assert!(
    LENGTH * 5 >= 50,
    "recovery codes need at least 50 random bits"
);

/// Replaces `user_id`'s codes by [`COUNT`] new ones and returns them (the only time they
/// are seen).
pub(crate) async fn replace<C: ConnectionTrait>(
    cx: Ctx<'_, C>,
    user_id: Uuid,
) -> AppResult<Vec<String>> {
    delete_all(cx.db(), user_id).await?;
    let now = cx.now();
    let codes: Vec<String> = (0..COUNT).map(|_| generate()).collect();
    let rows = codes.iter().map(|code| recovery_code::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        code_hash: Set(hash(user_id, &normalize(code).unwrap_or_default())),
        used_at: Set(None),
        created_at: Set(now),
    });
    recovery_code::Entity::insert_many(rows)
        .exec_without_returning(cx.db())
        .await?;
    Ok(codes)
}

/// Uses `input` as one of `user_id`'s unused codes; false when it is not one. One conditional
/// UPDATE: of two requests using the same code at once, one gets it.
pub(crate) async fn use_code<C: ConnectionTrait>(
    cx: Ctx<'_, C>,
    user_id: Uuid,
    input: &str,
) -> AppResult<bool> {
    let Some(code) = normalize(input) else {
        return Ok(false);
    };
    let used = recovery_code::Entity::update_many()
        .col_expr(recovery_code::Column::UsedAt, Expr::value(cx.now()))
        .filter(recovery_code::Column::UserId.eq(user_id))
        .filter(recovery_code::Column::CodeHash.eq(hash(user_id, &code)))
        .filter(recovery_code::Column::UsedAt.is_null())
        .exec(cx.db())
        .await?;
    Ok(used.rows_affected == 1)
}

/// Deletes every code of `user_id`.
pub(crate) async fn delete_all<C: ConnectionTrait>(db: &C, user_id: Uuid) -> AppResult<()> {
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

/// How many unused codes `user_id` has.
pub async fn left<C: ConnectionTrait>(db: &C, user_id: Uuid) -> AppResult<u64> {
    Ok(recovery_code::Entity::find()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .filter(recovery_code::Column::UsedAt.is_null())
        .count(db)
        .await?)
}

/// Whether `input` has the shape of a recovery code (not whether it is one).
pub fn looks_like_code(input: &str) -> bool {
    normalize(input).is_some()
}

fn generate() -> String {
    let mut bytes = [0u8; LENGTH];
    crate::secrets::fill_random(&mut bytes);
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(b & 31)] as char)
        .collect();
    chars
        .chunks(GROUP)
        .map(|group| group.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// The code as stored: lower case, without separators, with the look-alikes mapped.
fn normalize(input: &str) -> Option<String> {
    let code: String = input
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .map(|c| match c.to_ascii_lowercase() {
            'o' => '0',
            'i' | 'l' => '1',
            other => other,
        })
        .collect();
    (code.len() == LENGTH && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

fn hash(user_id: Uuid, code: &str) -> String {
    sha256_hex(&format!("{user_id}:{code}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_readable_and_carry_sixty_bits() {
        let code = generate();
        assert_eq!(code.len(), 14, "{code}");
        assert_eq!(code.matches('-').count(), 2, "{code}");
        assert!(looks_like_code(&code));
        let many: std::collections::HashSet<String> = (0..1000).map(|_| generate()).collect();
        assert_eq!(many.len(), 1000);
    }

    #[test]
    fn what_people_type_is_forgiven() {
        assert_eq!(normalize("ABCD-EFGH-JK01").as_deref(), Some("abcdefghjk01"));
        assert_eq!(normalize("abcd efgh jkol").as_deref(), Some("abcdefghjk01"));
        assert_eq!(normalize("abcd-efgh-jku1"), None);
        assert_eq!(normalize("abcd-efgh-jk"), None);
        assert_eq!(normalize("123456"), None);
    }

    #[test]
    fn hashes_differ_per_user() {
        let code = "abcdefghjk01";
        assert_ne!(hash(Uuid::nil(), code), hash(Uuid::max(), code));
        assert_eq!(hash(Uuid::nil(), code).len(), 64);
    }
}
