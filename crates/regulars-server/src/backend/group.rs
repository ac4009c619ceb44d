//! Group commit, shared by both backends: a push queues itself, then waits
//! for the writer. The thread that gets the writer takes every queued push
//! and applies them in one database transaction, each batch inside its own
//! savepoint (a batch stays all-or-nothing, and a failing one does not take
//! the others down), then commits once: one durable commit for many tills
//! instead of one each. Cursors still follow commit order: one writer, jobs
//! in queue order. A push that finds its answer waiting when it gets the
//! writer was carried by an earlier group.

use std::sync::{Arc, Mutex, MutexGuard};

use regulars_sync::protocol::{Change, ChangeResult};
use uuid::Uuid;

use crate::error::{Error, Result};

/// One push waiting for the writer, and where its answer goes.
pub(crate) struct PushJob {
    pub device: Uuid,
    pub changes: Vec<Change>,
    pub now: String,
    answer: Mutex<Option<Result<Vec<ChangeResult>>>>,
}

pub(crate) type Answer = Result<Vec<ChangeResult>>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Pushes waiting for the writer.
#[derive(Default)]
pub(crate) struct Queue(Mutex<Vec<Arc<PushJob>>>);

impl Queue {
    /// Queues a push and returns its answer, running a group on `writer`
    /// with `run` when this thread is the one to get it. `run` answers every
    /// job of the group, in order.
    pub fn push<W>(
        &self,
        writer: &Mutex<W>,
        device: Uuid,
        changes: &[Change],
        now: String,
        run: impl FnOnce(&mut W, &[Arc<PushJob>]) -> Vec<Answer>,
    ) -> Answer {
        let job = Arc::new(PushJob {
            device,
            changes: changes.to_vec(),
            now,
            answer: Mutex::new(None),
        });
        lock(&self.0).push(Arc::clone(&job));
        let mut w = lock(writer);
        if let Some(answer) = lock(&job.answer).take() {
            return answer;
        }
        // Not answered, so still queued: a group drains the queue and
        // answers every job in it before releasing the writer.
        let group = std::mem::take(&mut *lock(&self.0));
        let answers = run(&mut w, &group);
        let mut mine = None;
        for (j, a) in group.iter().zip(answers) {
            if Arc::ptr_eq(j, &job) {
                mine = Some(a);
            } else {
                *lock(&j.answer) = Some(a);
            }
        }
        // Only now: a job of this group that gets the writer next must find
        // its answer waiting.
        drop(w);
        mine.unwrap_or(Err(Error::Task))
    }
}

/// Every job's answer when the group's transaction could not start or commit.
pub(crate) fn all_failed(group: &[Arc<PushJob>], e: &dyn std::fmt::Display) -> Vec<Answer> {
    let msg = e.to_string();
    group
        .iter()
        .map(|_| Err(Error::Commit(msg.clone())))
        .collect()
}
