//! Saving what the main window shows as a PNG file.
//!
//! The integration test uses this to see the client the way a person would:
//! it runs the binary under Xvfb with `--screenshot`, then checks that the
//! picture has text in it. Humans can open the same PNG to check that the
//! Chinese label renders as glyphs and not as boxes.

use std::{fs::File, io::BufWriter, path::Path};

use anyhow::{Context, bail};
use fltk::{app, draw, prelude::*, window::Window};

/// Waits until `window` is on screen and drawn, reads its pixels back from the
/// display and writes them to `path` as an 8-bit RGB PNG.
pub fn save(window: &mut Window, path: &Path) -> anyhow::Result<()> {
    // `show` only asks the X server to map the window: wait for the first
    // Expose event, then draw everything that is damaged, so the read-back
    // below sees the finished window rather than an empty one.
    window.wait_for_expose();
    window.redraw();
    app::flush();

    // Read from the window itself: `capture_window` reads the current drawable.
    // (fltk 1.5's `capture_window_part` hands back the pointer table of FLTK's
    // image rather than its pixels, so it yields noise.)
    window.make_current();
    let image = draw::capture_window(window).context("cannot read the window's pixels back")?;
    let rgb = image.to_rgb_data();
    let (data_w, data_h) = (image.data_w(), image.data_h());
    if rgb.len() != (data_w * data_h * 3) as usize {
        bail!(
            "captured {} bytes for a {data_w}x{data_h} RGB image",
            rgb.len()
        );
    }
    log::debug!("captured {data_w}x{data_h} pixels");

    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut encoder = png::Encoder::new(BufWriter::new(file), data_w as u32, data_h as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder
        .write_header()
        .context("cannot write the PNG header")?;
    writer
        .write_image_data(&rgb)
        .context("cannot write the PNG data")?;
    writer.finish().context("cannot finish the PNG file")?;
    Ok(())
}
