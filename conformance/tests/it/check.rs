//! Frame patterns (`*` for any field) and the caret under the first wrong byte.

use conformance::check::{Failure, first_difference, matches};

#[test]
fn patterns_match_fields() {
    assert!(matches("1001|1|konbi|user1", b"1001|1|konbi|user1"));
    assert!(matches("1001|0|*|admin", b"1001|0|WRONG_PASSWORD|admin"));
    assert!(matches("1006|**", b"1006|1|a|b"));
    assert!(!matches("1001|0|*|*", b"1001|0|x"));
    assert!(!matches("1005", b"1005|extra"));
}

#[test]
fn the_caret_marks_the_first_wrong_byte() {
    assert_eq!(first_difference("1002|konbi|hi", b"1002|user1|hi"), Some(5));
    assert_eq!(
        first_difference("1002|konbi|a\\pb", b"1002|konbi|a|b"),
        Some(12)
    );
    assert_eq!(
        first_difference("1001|1|konbi|user1", b"1001|1|konbi"),
        Some(12)
    );
    let f = Failure::mismatch("CHAT-1", "wrong", "1002|小明|hi", "1002|小红|hi".as_bytes());
    assert_eq!(f.caret, Some(6), "the caret counts characters, not bytes");
}
