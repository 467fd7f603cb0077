//! The size policy of a session's terminal, as pure state: which viewer
//! drives the PTY's size. Kept in each session's relay entry and changed by
//! the `terminal` use cases.

use std::collections::HashMap;

use flotilla_protocol::TermSize;

/// Identifies one viewer of a session (its socket), for the size policy.
pub type ViewerId = String;

/// The size policy of one session: **the viewer who typed last drives the
/// PTY's size**; the others render that size (letterboxed or scaled), never
/// their own. Until someone types, the viewer attached longest drives; when
/// the driver leaves, the next by that rule takes over and its size
/// applies. So a phone that only watches never shrinks a desktop's agent,
/// and a size does not outlive the viewer it was for.
#[derive(Debug, Default)]
pub struct Sizes {
    /// The PTY's size as last applied or reported (by a snapshot).
    pub size: Option<TermSize>,
    viewers: HashMap<ViewerId, ViewerSize>,
    /// Orders attaches and keystrokes.
    clock: u64,
}

#[derive(Debug, Clone, Copy)]
struct ViewerSize {
    wanted: Option<TermSize>,
    attached: u64,
    /// When it last typed (0 = never).
    typed: u64,
}

/// What a size event changed: the PTY's new size and whose it is, for the
/// transport to tell every viewer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizeChange {
    /// The size now in force.
    pub size: TermSize,
    /// The viewer driving it.
    pub driver: ViewerId,
}

impl Sizes {
    /// The viewer whose size applies.
    pub fn driver(&self) -> Option<&ViewerId> {
        self.viewers
            .iter()
            .max_by_key(|(_, viewer)| (viewer.typed, std::cmp::Reverse(viewer.attached)))
            .map(|(id, _)| id)
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// A viewer attached.
    pub fn attach(&mut self, viewer: &ViewerId) {
        let attached = self.tick();
        self.viewers.entry(viewer.clone()).or_insert(ViewerSize {
            wanted: None,
            attached,
            typed: 0,
        });
    }

    /// A viewer's terminal would fit `size`. Only attached viewers count:
    /// a client that types or resizes without watching drives nothing.
    pub fn wants(&mut self, viewer: &ViewerId, size: TermSize) -> Option<SizeChange> {
        self.viewers.get_mut(viewer)?.wanted = Some(size);
        self.settle()
    }

    /// A viewer typed: it drives from now on.
    pub fn typed(&mut self, viewer: &ViewerId) -> Option<SizeChange> {
        let now = self.tick();
        self.viewers.get_mut(viewer)?.typed = now;
        self.settle()
    }

    /// A viewer left.
    pub fn detach(&mut self, viewer: &ViewerId) -> Option<SizeChange> {
        self.viewers.remove(viewer)?;
        self.settle()
    }

    /// Applies the driver's size if it differs from the PTY's.
    fn settle(&mut self) -> Option<SizeChange> {
        let driver = self.driver()?.clone();
        let wanted = self.viewers.get(&driver)?.wanted?;
        if self.size == Some(wanted) {
            return None;
        }
        self.size = Some(wanted);
        Some(SizeChange {
            size: wanted,
            driver,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(cols: u16, rows: u16) -> TermSize {
        TermSize { cols, rows }
    }

    fn change(cols: u16, rows: u16, driver: &str) -> Option<SizeChange> {
        Some(SizeChange {
            size: size(cols, rows),
            driver: driver.to_owned(),
        })
    }

    #[test]
    fn the_viewer_who_typed_last_drives_and_a_watcher_never_resizes() {
        let (desk, phone) = ("desk".to_owned(), "phone".to_owned());
        let mut sizes = Sizes::default();
        sizes.attach(&desk);
        // Alone, the desktop's size applies at once.
        assert_eq!(sizes.wants(&desk, size(200, 50)), change(200, 50, "desk"));
        // A phone attaching and reporting its size changes nothing.
        sizes.attach(&phone);
        assert_eq!(sizes.wants(&phone, size(52, 30)), None);
        assert_eq!(sizes.driver(), Some(&desk));
        // The phone types: its size applies.
        assert_eq!(sizes.typed(&phone), change(52, 30, "phone"));
        // The desktop's later resizes are recorded, not applied.
        assert_eq!(sizes.wants(&desk, size(180, 45)), None);
        // Typing again does not resize when nothing changed.
        assert_eq!(sizes.typed(&phone), None);
        // The phone leaves: the desktop's latest size comes back.
        assert_eq!(sizes.detach(&phone), change(180, 45, "desk"));
        assert_eq!(sizes.detach(&desk), None);
        assert_eq!(sizes.driver(), None);
    }

    #[test]
    fn a_driver_without_a_known_size_changes_nothing() {
        let (a, b) = ("a".to_owned(), "b".to_owned());
        let mut sizes = Sizes::default();
        // Not watching: neither its size nor its typing counts.
        assert_eq!(sizes.wants(&a, size(80, 24)), None);
        assert_eq!(sizes.typed(&a), None);
        assert_eq!(sizes.driver(), None);
        sizes.attach(&a);
        assert_eq!(sizes.wants(&a, size(80, 24)), change(80, 24, "a"));
        sizes.attach(&b);
        // b drives after typing but has not said what fits it.
        assert_eq!(sizes.typed(&b), None);
        assert_eq!(sizes.size, Some(size(80, 24)));
        assert_eq!(sizes.wants(&b, size(100, 30)), change(100, 30, "b"));
    }
}
