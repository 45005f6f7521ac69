//! Screenshots as pixels: decoding the client's PNGs and the checks that
//! tell a drawn window from a blank or noisy one.
//!
//! The client saves what its window shows; the tests look at the pixels. The
//! PNGs stay in Cargo's target tmp directory (`target/tmp/`), so a person can
//! open them and see what the test saw.

use std::{
    collections::HashMap,
    fs::File,
    io::BufReader,
    path::{Path, PathBuf},
};

/// A decoded screenshot: one RGB triple per pixel, row by row.
pub struct Picture {
    /// Where it was read from, for failure messages.
    pub path: PathBuf,
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// The pixels, row by row.
    pub pixels: Vec<[u8; 3]>,
}

impl Picture {
    /// Reads an 8-bit RGB PNG, as the client writes them.
    pub fn read_png(path: &Path) -> Picture {
        let file =
            File::open(path).unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
        let mut reader = png::Decoder::new(BufReader::new(file))
            .read_info()
            .expect("not a PNG file");
        let mut rgb = vec![0; reader.output_buffer_size().expect("PNG too large")];
        let info = reader.next_frame(&mut rgb).expect("cannot decode the PNG");
        assert_eq!(
            (info.color_type, info.bit_depth),
            (png::ColorType::Rgb, png::BitDepth::Eight),
            "expected 8-bit RGB"
        );
        rgb.truncate(info.buffer_size());
        Picture {
            path: path.to_owned(),
            width: info.width as usize,
            height: info.height as usize,
            pixels: rgb.chunks_exact(3).map(|p| [p[0], p[1], p[2]]).collect(),
        }
    }

    /// The part of the picture inside `x0..x1` and `y0..y1`.
    pub fn crop(&self, (x0, x1): (usize, usize), (y0, y1): (usize, usize)) -> Picture {
        let pixels = (y0..y1)
            .flat_map(|y| (x0..x1).map(move |x| (x, y)))
            .map(|(x, y)| self.pixels[y * self.width + x])
            .collect();
        Picture {
            path: self.path.clone(),
            width: x1 - x0,
            height: y1 - y0,
            pixels,
        }
    }

    /// How many pixels are within `tolerance` of `colour` in every channel.
    pub fn count_near(&self, colour: [u8; 3], tolerance: u8) -> usize {
        self.pixels
            .iter()
            .filter(|p| (0..3).all(|i| p[i].abs_diff(colour[i]) <= tolerance))
            .count()
    }
}

/// Most of a window is a light background (FLTK's grey, or the white of
/// the message column). Noise (a wrong pixel layout, reading freed memory)
/// has no such colour, or a dark one; a blank capture has only one colour.
pub fn check_light_background(picture: &Picture) {
    let mut counts: HashMap<[u8; 3], usize> = HashMap::new();
    for pixel in &picture.pixels {
        *counts.entry(*pixel).or_default() += 1;
    }
    assert!(
        counts.len() > 1,
        "the window is a single colour: {counts:?}"
    );
    let (colour, covered) = counts.iter().max_by_key(|(_, n)| **n).expect("no pixels");
    assert!(
        covered * 3 > picture.pixels.len() && colour.iter().all(|&c| c >= 128),
        "the commonest colour {colour:?} covers {covered} of {} pixels: \
         not a light background, noise? see {}",
        picture.pixels.len(),
        picture.path.display()
    );
}

/// The `(x, y)` of the dark (text) pixels.
pub fn ink(picture: &Picture) -> Vec<(usize, usize)> {
    (0..picture.pixels.len())
        .filter(|&i| picture.pixels[i].iter().all(|&c| c < 80))
        .map(|i| (i % picture.width, i / picture.width))
        .collect()
}

/// Without a CJK font pango draws each ideograph as a box holding its hex
/// code, which is dark too. Ideographs are set on a square em, so the three of
/// "聊天室" span well over two and a half label sizes (92 pixels with Noto
/// Sans CJK at 32 pixels); the hex boxes are narrower (72 pixels). The widest
/// gap between inked columns is the space before "ChatLab".
pub fn check_chinese_glyphs(picture: &Picture, ink: &[(usize, usize)], label_size: usize) {
    let mut columns: Vec<usize> = ink.iter().map(|(x, _)| *x).collect();
    columns.sort_unstable();
    columns.dedup();
    let space = columns
        .windows(2)
        .max_by_key(|pair| pair[1] - pair[0])
        .expect("the label has more than one inked column");
    let chinese = space[0] - columns[0] + 1;
    assert!(
        chinese * 2 >= label_size * 5,
        "the Chinese part of the label is {chinese} pixels wide, under 2.5 em: \
         hex boxes instead of glyphs (is fonts-noto-cjk installed)? see {}",
        picture.path.display()
    );
}
