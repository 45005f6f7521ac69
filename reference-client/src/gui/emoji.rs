//! The seven emoji images, built into the binary from `fixtures/emoji/` so
//! the client runs from any directory (the seed client loaded them from
//! `./emoji/` and failed when started elsewhere).

use fltk::image::PngImage;
use fltk::prelude::ImageExt;
use protocol::emoji::EMOJI;

/// The PNG bytes of each emoji, in the order of `protocol::emoji::EMOJI`.
const PNG: [&[u8]; 7] = [
    include_bytes!("../../../fixtures/emoji/happy.png"),
    include_bytes!("../../../fixtures/emoji/cute.png"),
    include_bytes!("../../../fixtures/emoji/love.png"),
    include_bytes!("../../../fixtures/emoji/joy.png"),
    include_bytes!("../../../fixtures/emoji/sob.png"),
    include_bytes!("../../../fixtures/emoji/sweat.png"),
    include_bytes!("../../../fixtures/emoji/upset.png"),
];

/// Emoji `index` of `EMOJI`, scaled to `size` pixels square.
pub fn image(index: usize, size: i32) -> PngImage {
    let mut image =
        PngImage::from_data(PNG[index % EMOJI.len()]).expect("the emoji fixtures are valid PNGs");
    image.scale(size, size, true, true);
    image
}
