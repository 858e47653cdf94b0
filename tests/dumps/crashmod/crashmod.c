// SPDX-License-Identifier: GPL-2.0
/*
 * panicdx_crash: crashes the kernel on purpose, in the way the `kind` parameter names, so that
 * tests/dumps/build_dumps.py can dump a real panicked guest. Debian kernels ship no lkdtm, so
 * this small module covers what /proc/sysrq-trigger cannot.
 *
 *   insmod panicdx_crash.ko kind=null-deref
 *
 * Each kind runs in its own noinline function (or kernel thread) with a telling name, so the
 * call trace and the guilty frame in the dump are as clear as in a real driver bug. Whether a
 * kind ends in a panic depends on the kernel command line the guest was booted with (oops=panic,
 * panic_on_warn=1, softlockup_panic=1, hung_task_panic=1): build_dumps.py sets those per kind.
 */
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/preempt.h>
#include <linux/string.h>

static char *kind = "";
module_param(kind, charp, 0444);
MODULE_PARM_DESC(kind, "null-deref, bad-access, bug, warning, divide-error, list-corruption, hung-task or soft-lockup");

struct panicdx_victim {
	int payload;
	struct list_head node;
};

/* volatile, so the compiler cannot prove the faults below and drop or replace them. */
static struct panicdx_victim *volatile panicdx_null_victim;
static struct panicdx_victim *volatile panicdx_wild_victim =
	(struct panicdx_victim *)0xdead000000000000UL;
static volatile int panicdx_dividend = 1000;
static volatile int panicdx_zero;

static noinline void panicdx_null_deref(void)
{
	panicdx_null_victim->payload = 1;
}

static noinline void panicdx_bad_access(void)
{
	/* A non-canonical address: a general protection fault, not a page fault. */
	panicdx_wild_victim->payload = 1;
}

static noinline void panicdx_bug(void)
{
	BUG();
}

static noinline void panicdx_warning(void)
{
	WARN(1, "panicdx_crash: deliberate warning\n");
}

/*
 * Both operands come from volatile globals: with a constant dividend GCC may clone the function
 * and replace the division (1 / x becomes a comparison), and no divide error would happen.
 */
static noinline int panicdx_divide(void)
{
	return panicdx_dividend / panicdx_zero;
}

static noinline void panicdx_list_corruption(void)
{
	static LIST_HEAD(victims);
	static struct panicdx_victim victim;

	list_add(&victim.node, &victims);
	list_del(&victim.node);
	/* A second delete finds LIST_POISON1 in ->next: CONFIG_DEBUG_LIST reports and BUGs. */
	list_del(&victim.node);
}

/* Held by the module's init and never released, so the hung-task thread waits forever. */
static DEFINE_MUTEX(panicdx_lock);

static int panicdx_hung_thread(void *unused)
{
	/* mutex_lock sleeps in TASK_UNINTERRUPTIBLE (D state): the hung-task detector's target. */
	mutex_lock(&panicdx_lock);
	mutex_unlock(&panicdx_lock);
	return 0;
}

static int panicdx_spin_thread(void *unused)
{
	/* Never schedule: the soft-lockup watchdog's per-CPU thread cannot run on this CPU. */
	preempt_disable();
	for (;;)
		cpu_relax();
	return 0;
}

static int panicdx_start_thread(int (*fn)(void *), const char *name)
{
	struct task_struct *task = kthread_run(fn, NULL, "%s", name);

	return PTR_ERR_OR_ZERO(task);
}

static int __init panicdx_crash_init(void)
{
	pr_info("panicdx_crash: crashing the kernel: kind=%s\n", kind);

	if (!strcmp(kind, "null-deref")) {
		panicdx_null_deref();
	} else if (!strcmp(kind, "bad-access")) {
		panicdx_bad_access();
	} else if (!strcmp(kind, "bug")) {
		panicdx_bug();
	} else if (!strcmp(kind, "warning")) {
		panicdx_warning();
	} else if (!strcmp(kind, "divide-error")) {
		pr_info("panicdx_crash: %d\n", panicdx_divide());
	} else if (!strcmp(kind, "list-corruption")) {
		panicdx_list_corruption();
	} else if (!strcmp(kind, "hung-task")) {
		mutex_lock(&panicdx_lock);
		return panicdx_start_thread(panicdx_hung_thread, "panicdx_hung");
	} else if (!strcmp(kind, "soft-lockup")) {
		return panicdx_start_thread(panicdx_spin_thread, "panicdx_spin");
	} else {
		pr_err("panicdx_crash: unknown kind '%s'\n", kind);
		return -EINVAL;
	}
	/* Only reached when the kernel survived the crash (e.g. oops=panic was not set). */
	pr_err("panicdx_crash: kind=%s did not panic the kernel\n", kind);
	return -EIO;
}

static void __exit panicdx_crash_exit(void)
{
}

module_init(panicdx_crash_init);
module_exit(panicdx_crash_exit);

MODULE_DESCRIPTION("Crashes the kernel on purpose for panicdx's real-dump test fixtures");
MODULE_LICENSE("GPL");
