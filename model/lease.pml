/*
 * lease.pml: the job lease protocol of the media-jobs worker, for the spin model checker.
 *
 * One job, two workers (each with its sentinel process and its ffmpeg child), one
 * database. Time is discrete (ticks). How to run it, what is verified and what is
 * abstracted away: model/README.md. tests/test_model.py runs it with the timing constants
 * computed by supervisor.WorkerConfig, so the model cannot drift from the code's formulas.
 *
 * Code paths modelled here:
 *   stores/_statements.py CLAIM_ANY      db_claim: the pending row becomes running,
 *                                         lease + 1, attempt + 1, worker id, claim token,
 *                                         updated_at = the database's now
 *   stores/_statements.py RECOVER_CLAIM  db_recover: a claim whose answer was lost is given
 *                                         back by worker id and claim token, attempt refunded
 *   stores/_statements.py HEARTBEAT, COMPLETE, FAIL, RELEASE, CONFIRM_CANCELLED
 *                                         apply_call: fenced by lease and status = running
 *   stores/_statements.py REAP           db_reap: running, updated_at < now - STALE
 *   stores/_sql.py cancel                user_cancel
 *   actors/_poller.py                    worker_side: claim when idle; recover when in doubt
 *   actors/_heartbeat.py                 worker_side: a beat every HB; the self-fence timer
 *   actors/_running.py                   confirmed (send time), TROUBLE (store_trouble),
 *                                         the fence decision, UNTRUSTED (outcome_untrusted)
 *   actors/_sentinel.py                  step: SIGKILL after SENTINEL_AFTER without a beat
 *   actors/_child.py                     step and worker_side: SIGTERM, KILL later SIGKILL
 *   actors/_executor.py                  decide_outcome, and the outcome write (retried)
 *   actors/_reaper.py                    worker_side: db_reap, every tick, every worker
 *
 * Switches (spin -D...):
 *   HB KILL STALE FENCE_AFTER SENTINEL_AFTER CALL_TIMEOUT   timings, in ticks
 *   PATIENCE                                                a write unanswered this long
 *                                                           is store trouble (heartbeat)
 *   FAULTS FAULTS1 LOSSES CANCELS MAX_ATTEMPTS              bounds on the environment
 *   BUG_ANSWER_TIME      the confirmed time is when the answer ARRIVED (not when sent)
 *   BUG_ARM_BEAT         arming the sentinel for a new child restarts its silence clock
 *   BUG_START_UNVETTED   the child runs before the sentinel guards it (the code before
 *                        the gate: open_child forked, then armed; a worker frozen in
 *                        between left the child running unguarded)
 *   NO_SENTINEL          no sentinel: the self-fence alone (safe only without pauses)
 *   NO_CRASH NO_PAUSE NO_CUT   leave that kind of fault out
 *   NO_DRIFT             the hosts' clocks keep the database's rate exactly
 * With a BUG_ switch spin must find two children of the job alive at once.
 */

/* ---- timings, in ticks --------------------------------------------------------------- */
#ifndef HB
#define HB 1                                    /* heartbeat_interval */
#endif
#ifndef KILL
#define KILL 1                                  /* kill_grace: SIGTERM .. SIGKILL */
#endif
#ifndef STALE
#define STALE 7                                 /* stale_after: the reaper's threshold */
#endif
#ifndef FENCE_AFTER
#define FENCE_AFTER (STALE - 2 * HB - KILL)     /* WorkerConfig.fence_after */
#endif
#ifndef SENTINEL_AFTER
#define SENTINEL_AFTER (STALE - HB)             /* WorkerConfig.sentinel_after */
#endif
#ifndef CALL_TIMEOUT
#define CALL_TIMEOUT 1          /* a call is answered within this (<= store_timeout) */
#endif
#ifndef PATIENCE
#define PATIENCE HB             /* a write unanswered this long is store trouble */
#endif

/* ---- bounds on the environment, so that progress is possible ------------------------- */
#ifndef MAX_ATTEMPTS
#define MAX_ATTEMPTS 2
#endif
#ifndef FAULTS
#define FAULTS 1    /* worker 0's faults, each one of: a crash (SIGKILL, then a restart
                       with a new worker id), a pause (SIGSTOP .. SIGCONT) or a cut from
                       the database; each lasts any number of ticks */
#endif
#ifndef FAULTS1
#define FAULTS1 FAULTS   /* worker 1's budget, if different */
#endif
#ifndef LOSSES
#define LOSSES 1    /* in all: a request or an answer lost on the way */
#endif
#ifndef CANCELS
#define CANCELS 1   /* a user's cancel request, at any time */
#endif

#define NW 2                        /* workers */
#define AGE_CAP SENTINEL_AFTER      /* a worker's local ages saturate here */
#define UPD_CAP (STALE + 1)         /* the row's age saturates here */

/* ---- the job row (stores/_schema.py) ------------------------------------------------- */
#define PENDING   0
#define RUNNING   1
#define COMPLETED 2
#define FAILED    3
#define CANCELLED 4
#define TERMINAL  (status >= COMPLETED)

byte status = PENDING;
byte attempt = 0;       /* + 1 at every claim; - 1 when a release refunds it */
byte row_wid = 0;       /* worker_id (0: none) */
byte upd_age = 0;       /* the database's now - updated_at, while running (saturates) */
bit  cancel_req = 0;

/* Leases are compared for equality only and every claim makes a fresh one, so a lease
 * anywhere in the model is the row's current one or an older (stale) one. */
#define L_NONE 0
#define L_CUR  1            /* the row's lease */
#define L_OLD  2            /* a lease handed out by an earlier claim */

/* ---- ghosts, for the assertions ------------------------------------------------------ */
byte terminal_writes = 0;   /* effective transitions into a terminal state */
bit  run_ended = 0;         /* the current lease's run was ended (outcome or reap) */

/* ---- per worker ---------------------------------------------------------------------- */
/* the job's child process (ffmpeg) */
#define CH_NONE   0         /* none (not started yet, or the worker is idle) */
#define CH_RUN    1         /* alive */
#define CH_TERM   2         /* alive, SIGTERM sent */
#define CH_OK     3         /* exited 0 */
#define CH_FAIL   4         /* exited non-zero */
#define CH_KILLED 5         /* killed by a signal */
#define ALIVE(c)  ((c) == CH_RUN || (c) == CH_TERM)
#define DEAD(c)   ((c) >= CH_OK)

/* why the job was stopped (actors/_running.py StopReason, those that matter here) */
#define S_NONE   0
#define S_CANCEL 1          /* cancel requested: kill, then confirm_cancelled */
#define S_FENCE  2          /* self-fence: kill, then release without charge */
#define S_LOST   3          /* LeaseLost: kill, write nothing */

/* store calls, one in flight per worker (stores/_runner.py runs them one at a time) */
#define K_NONE     0
#define K_CLAIM    1
#define K_RECOVER  2        /* give back the claim in doubt */
#define K_HB       3
#define K_COMPLETE 4
#define K_FAIL     5        /* transient: back to pending while attempts remain */
#define K_RELEASE  6        /* back to pending, attempt refunded */
#define K_CONFIRM  7        /* confirm_cancelled */

#define C_SENT     1        /* request on its way, not applied yet */
#define C_APPLIED  2        /* applied by the database; answer on its way */
#define C_ANSWERED 3        /* answer waiting for the worker */
#define C_LOST     4        /* lost, or no answer in time: StoreUnavailable */

bit  up[NW] = 1;        /* the worker process is alive */
bit  paused[NW];        /* SIGSTOP'ed */
bit  cut[NW];           /* cut off from the database */
byte incarn[NW];        /* restarts so far (a restarted worker has a new id) */
byte held[NW];          /* the lease of the job it runs (L_NONE: idle) */
byte child[NW];
byte stop[NW];
byte out[NW];           /* the outcome write still to be made (K_*), or K_NONE */
byte conf_age[NW];      /* local ticks since the SEND time of the last confirmed write */
byte sent_age[NW];      /* the sentinel's ticks since the last beat it got */
byte hb_age[NW];        /* local ticks since the last heartbeat was sent */
byte kill_age[NW];      /* local ticks since SIGTERM */
bit  trouble[NW];       /* a heartbeat failed since the last confirmation */
bit  drift_ok[NW];      /* the host's clock may still slip during this run */
bit  doubt[NW];         /* a claim of unknown outcome to give back */
byte doubt_lease[NW];   /* ...its claim token: the lease that claim got, if any */
bit  armed[NW];         /* the sentinel guards the child */
byte ck[NW];            /* the call in flight: kind */
byte cst[NW];           /*                     state */
byte cres[NW];          /*                     the database's answer */
byte cage[NW];          /*                     local ticks since it was sent */
byte losses = LOSSES;
byte faults[NW];        /* left to each worker (initialised in Env) */
byte cancels = CANCELS;

#define WID(w) (incarn[w] * NW + (w) + 1)      /* worker_id, never 0 */
#define inc(x, by, cap) x = ((x) + (by) < (cap) -> (x) + (by) : (cap))

/* ---- the database: each statement is one atomic step --------------------------------- */

inline become_terminal(s) {
    assert(!TERMINAL);                  /* a terminal state never changes */
    status = s;
    terminal_writes++;
    assert(terminal_writes == 1)        /* one terminal outcome takes effect, once */
}

inline end_run() {
    assert(!run_ended);                 /* a run ends once: one outcome per lease */
    run_ended = 1;
    row_wid = 0;
    upd_age = 0
}

/* stores/_statements.py _release with a refund: cancelled if requested, else pending */
inline row_release() {
    assert(attempt >= 1);
    attempt--;
    if
    :: cancel_req -> become_terminal(CANCELLED)
    :: else -> status = PENDING
    fi
}

inline retire(x) {
    if
    :: x == L_CUR -> x = L_OLD
    :: else -> skip
    fi
}

inline db_claim(w) {                    /* CLAIM_ANY */
    if
    :: status == PENDING ->
        /* lease + 1: every lease handed out before is stale now */
        retire(held[0]); retire(held[1]);
        retire(doubt_lease[0]); retire(doubt_lease[1]);
        if
        :: ck[1 - w] == K_CLAIM -> retire(cres[1 - w])
        :: else -> skip
        fi;
        run_ended = 0;
        status = RUNNING;
        attempt++;
        assert(attempt <= MAX_ATTEMPTS);        /* no claim exceeds max_attempts */
        row_wid = WID(w);
        upd_age = 0;
        cres[w] = L_CUR
    :: else -> cres[w] = L_NONE                 /* nothing pending */
    fi
}

inline db_recover(w) {                  /* RECOVER_CLAIM: by worker id and claim token */
    if
    :: status == RUNNING && row_wid == WID(w) && doubt_lease[w] == L_CUR ->
        end_run();
        row_release()
    :: else -> skip
    fi
}

#define FENCED(w) (status == RUNNING && held[w] == L_CUR)

/* The holder's outcome writes, fenced. A write under a stale lease changes nothing; the
 * retry of a write whose answer was lost is answered, not applied twice (either way the
 * worker is done with the job, so the model does not tell the two answers apart). */
inline db_outcome(w) {
    if
    :: FENCED(w) ->
        assert(row_wid == WID(w));              /* the lease names its one holder */
        assert(!ALIVE(child[w]));               /* the child is dead before any outcome */
        end_run();
        if
        :: ck[w] == K_COMPLETE -> become_terminal(COMPLETED)
        :: ck[w] == K_FAIL && attempt < MAX_ATTEMPTS && !cancel_req -> status = PENDING
        :: ck[w] == K_FAIL && (attempt >= MAX_ATTEMPTS || cancel_req) ->
            become_terminal(FAILED)
        :: ck[w] == K_RELEASE -> row_release()
        :: ck[w] == K_CONFIRM -> become_terminal(CANCELLED)
        fi;
        cres[w] = 1
    :: else -> cres[w] = 0                      /* LeaseLost */
    fi
}

inline apply_call(w) {
    if
    :: ck[w] == K_CLAIM -> db_claim(w)
    :: ck[w] == K_RECOVER -> db_recover(w)
    :: ck[w] == K_HB ->                         /* HEARTBEAT: updated_at = now */
        if
        :: FENCED(w) -> upd_age = 0; cres[w] = 1 + cancel_req
        :: else -> cres[w] = 0
        fi
    :: ck[w] >= K_COMPLETE -> db_outcome(w)
    fi
}

inline db_reap() {                      /* REAP */
    if
    :: status == RUNNING && upd_age > STALE ->
        end_run();
        if
        :: cancel_req -> become_terminal(CANCELLED)
        :: !cancel_req && attempt < MAX_ATTEMPTS -> status = PENDING
        :: !cancel_req && attempt >= MAX_ATTEMPTS -> become_terminal(FAILED)
        fi
    :: else -> skip
    fi
}

inline user_cancel() {                  /* stores cancel(id) */
    if
    :: status == PENDING -> become_terminal(CANCELLED)
    :: status == RUNNING -> cancel_req = 1
    :: else -> skip
    fi
}

/* ---- the network between a worker and the database ----------------------------------- */
/* A request is applied, and its answer delivered, within CALL_TIMEOUT of the send; or one
 * of them is lost (at most LOSSES), or the worker is cut off: the call then fails
 * (StoreUnavailable) at CALL_TIMEOUT, the statement applied or not. This runs while the
 * worker is paused too: the database does not wait for it. */
inline net_side(w) {
    if
    :: cst[w] == C_SENT ->
        if
        :: !cut[w] -> d_step { apply_call(w); cst[w] = C_APPLIED }
        :: cage[w] < CALL_TIMEOUT -> skip
        :: cut[w] && cage[w] >= CALL_TIMEOUT -> cst[w] = C_LOST
        :: losses > 0 -> losses--; cst[w] = C_LOST
        fi
    :: else -> skip
    fi;
    if
    :: cst[w] == C_APPLIED ->
        if
        :: !cut[w] -> cst[w] = C_ANSWERED
        :: cage[w] < CALL_TIMEOUT -> skip
        :: cut[w] && cage[w] >= CALL_TIMEOUT -> cst[w] = C_LOST
        :: losses > 0 -> losses--; cst[w] = C_LOST
        fi
    :: else -> skip
    fi
}

/* ---- the worker ---------------------------------------------------------------------- */

inline finish(w) {                      /* done with the job: idle again */
    held[w] = L_NONE; child[w] = CH_NONE; stop[w] = S_NONE; out[w] = K_NONE;
    conf_age[w] = 0; sent_age[w] = 0; hb_age[w] = 0; kill_age[w] = 0;
    drift_ok[w] = 0; armed[w] = 0; trouble[w] = 0
}

/* A write was confirmed. The confirmed time is when it was SENT (cage ticks ago), and the
 * sentinel's beat carries that same time. */
inline confirmed(w) {
#ifdef BUG_ANSWER_TIME
    trouble[w] = 0;
    conf_age[w] = 0;
    sent_age[w] = 0
#else
    trouble[w] = 0;
    conf_age[w] = cage[w];
    if
    :: cage[w] < sent_age[w] -> sent_age[w] = cage[w]
    :: else -> skip
    fi
#endif
}

/* The answer to the call in flight, or its failure (StoreUnavailable). */
inline on_reply(w) {
    if
    :: ck[w] == K_CLAIM ->                                  /* actors/_poller.py */
        if
        :: cst[w] == C_ANSWERED && cres[w] != L_NONE ->
            held[w] = cres[w];                              /* to the executor */
            drift_ok[w] = 1;
            /* the first beat is due HB after the claim was sent */
            hb_age[w] = (cage[w] < HB -> cage[w] : HB);
            conf_age[w] = AGE_CAP;
            sent_age[w] = AGE_CAP;
            confirmed(w)                                    /* the claim was a write */
        :: cst[w] == C_ANSWERED && cres[w] == L_NONE -> skip    /* nothing pending */
        :: cst[w] == C_LOST -> doubt[w] = 1; doubt_lease[w] = cres[w]   /* in doubt */
        fi
    :: ck[w] == K_RECOVER ->
        if
        :: cst[w] == C_ANSWERED -> doubt[w] = 0; doubt_lease[w] = L_NONE
        :: else -> skip                                     /* again next time */
        fi
    :: ck[w] == K_HB ->                                     /* actors/_heartbeat.py */
        if
        :: cst[w] == C_ANSWERED && cres[w] == 0 && stop[w] == S_NONE -> stop[w] = S_LOST
        :: cst[w] == C_ANSWERED && cres[w] != 0 ->
            confirmed(w);
            if
            :: cres[w] == 2 && stop[w] == S_NONE -> stop[w] = S_CANCEL
            :: else -> skip
            fi
        :: cst[w] == C_LOST -> trouble[w] = 1               /* store trouble */
        :: else -> skip
        fi
    :: ck[w] >= K_COMPLETE ->                               /* actors/_executor.py */
        if
        :: cst[w] == C_ANSWERED -> finish(w)                /* recorded, or LeaseLost */
        :: else -> skip             /* retried until it lands or the lease is lost */
        fi
    fi;
    ck[w] = K_NONE; cst[w] = 0; cres[w] = 0; cage[w] = 0
}

/* actors/_running.py store_trouble: a heartbeat failed since the last confirmation, or
 * one has waited PATIENCE for its answer. */
#define TROUBLE(w) (trouble[w] || (ck[w] == K_HB && cage[w] >= PATIENCE))
/* outcome_untrusted: silent for FENCE_AFTER because of the store */
#define UNTRUSTED(w) (conf_age[w] >= FENCE_AFTER && TROUBLE(w))

/* actors/_executor.py decide: the outcome once the child is dead, from why the job was
 * stopped and how the child ended (a failure is the job's own unless untrusted). */
inline decide_outcome(w) {
    armed[w] = 0;                                           /* disarm the sentinel */
    if
    :: stop[w] == S_LOST -> finish(w)                       /* someone else has it */
    :: stop[w] == S_CANCEL -> out[w] = K_CONFIRM
    :: stop[w] == S_FENCE -> out[w] = K_RELEASE
    :: stop[w] == S_NONE && child[w] == CH_OK -> out[w] = K_COMPLETE
    :: stop[w] == S_NONE && child[w] != CH_OK && UNTRUSTED(w) -> out[w] = K_RELEASE
    :: stop[w] == S_NONE && child[w] != CH_OK && !UNTRUSTED(w) -> out[w] = K_FAIL
    fi
}

/* JobContext.open_child (actors/_context.py, actors/_child.py): the child is forked held
 * (a gate: /bin/sh waits on a pipe), the sentinel is armed with the last beat's stamp,
 * and only then is the program let run, if that stamp is less than SENTINEL_AFTER old;
 * otherwise the held child is killed before it does anything. One atomic step here: a
 * worker frozen before the release leaves only a held child, and one frozen after it is
 * covered by the armed sentinel. */
inline start_child(w) {
#ifdef BUG_ARM_BEAT
    sent_age[w] = 0;                    /* arming counted as a beat */
#endif
#ifndef NO_SENTINEL
#ifndef BUG_START_UNVETTED
    if
    :: sent_age[w] >= SENTINEL_AFTER -> child[w] = CH_KILLED    /* never ran */
    :: else ->
#endif
#endif
        assert(!ALIVE(child[1 - w]));   /* SAFETY: never two children of the job alive */
        child[w] = CH_RUN;
        armed[w] = 1;
#ifndef NO_SENTINEL
#ifdef BUG_START_UNVETTED
        if                              /* the sentinel kills it as soon as it is armed */
        :: sent_age[w] >= SENTINEL_AFTER -> child[w] = CH_KILLED
        :: else -> skip
        fi
#else
    fi
#endif
#endif
}

/* Which call to make next, if the worker has none in flight. */
inline next_call(w) {
    if
    :: ck[w] != K_NONE -> skip
    :: ck[w] == K_NONE && out[w] != K_NONE -> ck[w] = out[w]
    :: ck[w] == K_NONE && out[w] == K_NONE && held[w] != L_NONE && stop[w] == S_NONE &&
       !DEAD(child[w]) && hb_age[w] >= HB -> ck[w] = K_HB; hb_age[w] = 0
    :: ck[w] == K_NONE && held[w] == L_NONE && doubt[w] -> ck[w] = K_RECOVER
    :: ck[w] == K_NONE && held[w] == L_NONE && !doubt[w] && status == PENDING ->
        ck[w] = K_CLAIM         /* polls that cannot find a job are left out */
    :: else -> skip
    fi;
    if
    :: ck[w] != K_NONE && cst[w] == 0 -> cst[w] = C_SENT; cage[w] = 0; fresh = 1
    :: else -> skip
    fi
}

/* The worker itself, when it runs (not crashed, not paused). */
inline worker_side(w) {
    d_step {
        /* actors/_reaper.py: every worker reaps each tick, as early as the row allows
         * (and its poller may claim the reaped job within the same tick) */
        if
        :: !cut[w] -> db_reap()
        :: else -> skip
        fi;
        if
        :: cst[w] == C_ANSWERED || cst[w] == C_LOST -> on_reply(w)
        :: else -> skip
        fi
    }
    /* actors/_heartbeat.py _fence, RunningJob.fence_decision: no write confirmed for
     * FENCE_AFTER, because of the store => stop the job (silence without store trouble
     * is a starved loop: the next heartbeat says). The timer may fire one tick late. */
    if
    :: held[w] != L_NONE && stop[w] == S_NONE && !DEAD(child[w]) &&
       conf_age[w] >= FENCE_AFTER && TROUBLE(w) ->
        if
        :: stop[w] = S_FENCE
        :: conf_age[w] == FENCE_AFTER -> skip
        fi
    :: else -> skip
    fi;
    d_step {
        /* actors/_child.py stop: SIGTERM, then SIGKILL after KILL */
        if
        :: child[w] == CH_RUN && stop[w] != S_NONE -> child[w] = CH_TERM; kill_age[w] = 0
        :: child[w] == CH_TERM && kill_age[w] >= KILL -> child[w] = CH_KILLED
        :: else -> skip
        fi;
        /* the executor starts the child, or decides the outcome once the run is over
         * (the child dead, or the job stopped before it started one) */
        if
        :: held[w] != L_NONE && child[w] == CH_NONE && stop[w] == S_NONE -> start_child(w)
        :: held[w] != L_NONE && out[w] == K_NONE && ck[w] == K_NONE &&
           (DEAD(child[w]) || (child[w] == CH_NONE && stop[w] != S_NONE)) ->
            decide_outcome(w)
        :: else -> skip
        fi;
        next_call(w)
    }
    if
    :: fresh ->                         /* a fast call is answered within the tick */
        fresh = 0;
        net_side(w);
        d_step {
            if
            :: cst[w] == C_ANSWERED || cst[w] == C_LOST -> on_reply(w)
            :: else -> skip
            fi;
            if          /* a job claimed just now: its child starts at once */
            :: held[w] != L_NONE && child[w] == CH_NONE && stop[w] == S_NONE ->
                start_child(w)
            :: else -> skip
            fi
        }
    :: else -> skip
    fi
}

/* One tick of worker w: its sentinel and its child run even while w is paused, and so
 * does the database's side of its call. */
inline step(w) {
#ifndef NO_SENTINEL
    d_step {                            /* actors/_sentinel.py */
        if
        :: armed[w] && ALIVE(child[w]) && sent_age[w] >= SENTINEL_AFTER ->
            child[w] = CH_KILLED                            /* SIGKILL the group */
        :: else -> skip
        fi
    }
#endif
    if
    :: child[w] == CH_TERM -> child[w] = CH_KILLED          /* SIGTERM took effect */
    :: true -> skip
    fi;
    net_side(w);
    if
    :: up[w] && !paused[w] -> worker_side(w)
    :: else -> skip
    fi
}

/* A host's clock advances by 1 per tick; during a run it may slip once, by 0 or 2. */
inline age_worker(w) {
    d = 1;
#ifndef NO_DRIFT
    if
    :: held[w] != L_NONE && drift_ok[w] -> if :: d = 0 :: d = 2 :: skip fi
    :: else -> skip
    fi;
#endif
    d_step {
        if
        :: d != 1 -> drift_ok[w] = 0
        :: else -> skip
        fi;
        if
        :: held[w] != L_NONE -> inc(conf_age[w], d, AGE_CAP); inc(sent_age[w], d, AGE_CAP)
        :: else -> skip
        fi;
        if
        :: held[w] != L_NONE && stop[w] == S_NONE && !DEAD(child[w]) -> inc(hb_age[w], d, HB)
        :: else -> skip
        fi;
        if
        :: child[w] == CH_TERM -> inc(kill_age[w], d, KILL)
        :: else -> skip
        fi;
        if
        :: ck[w] != K_NONE -> inc(cage[w], d, AGE_CAP)
        :: else -> skip
        fi
    }
}

/* Time. Each tick the database's clock and the hosts' clocks advance, then both workers
 * take their step, in either order. The environment (Env) acts between ticks. */
active proctype Time() {
    byte d;
    bit fresh;
    do
    :: atomic {
        age_worker(0);
        age_worker(1);
        d_step {
            if
            :: status == RUNNING -> inc(upd_age, 1, UPD_CAP)
            :: else -> skip
            fi;
            d = 0
        }
        if
        :: true -> step(0); step(1)
        :: true -> step(1); step(0)
        fi
    }
    od
}

inline crash(w) {                       /* SIGKILL: the child dies with it (PDEATHSIG) */
    if
    :: ALIVE(child[w]) -> child[w] = CH_KILLED
    :: else -> skip
    fi;
    if                                  /* a request already sent may still be applied */
    :: cst[w] == C_SENT && !cut[w] -> apply_call(w)
    :: true -> skip
    fi;
    ck[w] = K_NONE; cst[w] = 0; cres[w] = 0; cage[w] = 0;
    finish(w);
    doubt[w] = 0;
    doubt_lease[w] = L_NONE;
    paused[w] = 0;
    up[w] = 0
}

/* The environment: faults, the user, and children ending by themselves. Each action is
 * bounded, and weak fairness makes the pending ones happen eventually: a paused worker is
 * continued, a crashed one restarts, a cut ends, a child exits. */
active proctype Env() {
    faults[0] = FAULTS;
    faults[1] = FAULTS1;
    do
    :: atomic { cancels > 0 -> cancels--; user_cancel() }
    :: atomic { child[0] == CH_RUN -> if :: child[0] = CH_OK :: child[0] = CH_FAIL fi }
    :: atomic { child[1] == CH_RUN -> if :: child[1] = CH_OK :: child[1] = CH_FAIL fi }
#ifndef NO_CRASH
    :: atomic { faults[0] > 0 && up[0] -> faults[0]--; crash(0) }
    :: atomic { faults[1] > 0 && up[1] -> faults[1]--; crash(1) }
#endif
    :: atomic { !up[0] -> incarn[0]++; up[0] = 1 }
    :: atomic { !up[1] -> incarn[1]++; up[1] = 1 }
#ifndef NO_PAUSE
    :: atomic { faults[0] > 0 && up[0] -> faults[0]--; paused[0] = 1 }
    :: atomic { faults[1] > 0 && up[1] -> faults[1]--; paused[1] = 1 }
#endif
    :: atomic { paused[0] -> paused[0] = 0 }
    :: atomic { paused[1] -> paused[1] = 0 }
#ifndef NO_CUT
    :: atomic { faults[0] > 0 -> faults[0]--; cut[0] = 1 }
    :: atomic { faults[1] > 0 -> faults[1]--; cut[1] = 1 }
#endif
    :: atomic { cut[0] -> cut[0] = 0 }
    :: atomic { cut[1] -> cut[1] = 0 }
    od
}

/* LIVENESS: under weak fairness, the job always reaches a terminal state. */
ltl terminates { <> (status == COMPLETED || status == FAILED || status == CANCELLED) }
