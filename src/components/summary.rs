//! The batch at a glance: the total bar, the status line ("148 of 200 stored, 2 failed,
//! 31 MB/s, about 4 s left") and "Clear finished".

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{reactive_attr, reactive_text};
use crate::browser::timer;
use crate::core::throughput::Throughput;
use crate::i18n::format::number;
use crate::uploader::Uploader;

/// How often the speed shown is worked out again: often enough to follow the batch, seldom
/// enough to be read (the bar moves ten times a second, a number that did would flicker).
const SPEED_EVERY_MS: u32 = 1_000;

/// The summary above the file list, of `uploader`'s queue.
///
/// A plain function, not a `#[component]`: a component's props builder and call wrapper
/// are code of their own in the bundle.
pub(crate) fn summary_bar(uploader: Uploader) -> impl IntoView {
    let lang = move || uploader.lang();
    let summary = move || uploader.summary();
    let speed = speed_of(uploader);
    view! {
        <div class="du__summary" hidden=reactive_attr(move || summary().files == 0)>
            <progress
                class="du__total"
                max="100"
                value=reactive_attr(move || number(u64::from(summary().percent())))
                aria-label=reactive_attr(move || lang().total_progress())
            ></progress>
            <div class="du__summary-row">
                <p class="du__status">{reactive_text(move || lang().progress(&summary(), known_speed(speed.get())))}</p>
                <button
                    type="button"
                    class="du__clear"
                    hidden=reactive_attr(move || { let s = summary(); s.done + s.cancelled == 0 })
                    on:click=move |_| uploader.clear_finished()
                >{reactive_text(move || lang().clear_finished())}</button>
            </div>
        </div>
    }
}

/// The batch's speed in bytes per second while files are pending, 0 while it is not known.
/// Every summary is a sample; while files are pending, a timer also samples once a second (so
/// that a stalled batch's speed runs out instead of freezing) and shows the speed it measures.
///
/// A `RwSignal<u32>` and not an `Option<u64>` signal: the list's scroll signals are
/// `RwSignal<u32>`, and each signal value type links its own copy of Leptos' arena code. A
/// measured speed is never 0 (`Throughput` says `None` then), and 4 GB/s is beyond any upload.
fn speed_of(uploader: Uploader) -> RwSignal<u32> {
    let speed = RwSignal::new(0u32);
    let set_speed = move |measured: Option<u64>| {
        let stored = measured.map_or(0, |bytes| u32::try_from(bytes).unwrap_or(u32::MAX));
        speed.try_set(stored)
    };
    // The meter and whether its timer runs. Shared by plain `Rc`, not a `StoredValue` (each
    // stored value type links its own arena code): the summary, which every sample
    // reads first, says when the widget is gone.
    let meter = Rc::new(RefCell::new((Throughput::default(), false)));
    let sample = {
        let meter = meter.clone();
        move || {
            let s = uploader.summary_untracked()?;
            let mut meter = meter.borrow_mut();
            if s.pending == 0 {
                meter.0.clear();
            } else {
                meter.0.record(timer::now_ms(), s.bytes_sent);
            }
            Some((s.pending, meter.0.bytes_per_second()))
        }
    };
    let ticking = move |now: bool| std::mem::replace(&mut meter.borrow_mut().1, now);
    // Boxed: effects of this shape are then one type, whose effect code the bundle carries
    // once (the visibility watcher's effect is the same type).
    let run: Box<dyn FnMut(Option<()>)> = Box::new(move |_| {
        let pending = uploader.summary().pending;
        sample();
        if pending == 0 {
            set_speed(None);
            return;
        }
        // Already ticking: the timer keeps going.
        if ticking(true) {
            return;
        }
        let sample = sample.clone();
        let ticking = ticking.clone();
        spawn_local(async move {
            loop {
                timer::sleep_ms(SPEED_EVERY_MS).await;
                // Ends with the batch, or with the widget (its summary is gone then).
                match sample() {
                    Some((pending, measured)) if pending > 0 => set_speed(measured),
                    _ => break,
                };
            }
            ticking(false);
        });
    });
    Effect::new(run);
    speed
}

/// The speed shown, from [`speed_of`]'s signal: `None` while it is not known.
fn known_speed(stored: u32) -> Option<u64> {
    (stored > 0).then_some(u64::from(stored))
}
