#!/usr/bin/env python3
"""Pickle safety scanners side by side on the scan corpus: what each catches, what it wrongly flags, how fast.

    python3 Benchmarks/scan_compare.py [--pickletool PATH] [--scan-compare PATH] [--rounds N] [--json OUT]

Installs picklescan and fickling with pip when they are missing, writes the corpus of
Tests/Fixtures/scan_corpus.py into a temporary directory (benign and malicious pickles, checkpoints, .npy/.npz,
zstd, joblib files; see that script for the manifest), then scans every file with every tool and prints
Markdown tables: per tool the malicious files caught (detection rate), the benign files flagged
(false-positive rate), the files it failed on, the median and total time per file; then per family which tool
caught it, and the malicious files each tool missed. --json OUT writes the raw results. Each file's time is the
best of --rounds runs (default 3).

The tools, and when a file counts as flagged:

  * picklescan, through its Python API, in this process: picklescan.scanner.scan_file_path(path), which picks
    the format from the file's extension and content (zip entries with a pickle extension or a protocol 2-5
    PROTO byte, .npy with an object dtype, otherwise every pickle of the file). Flagged when the result
    counts dangerous globals (issues_count, infected_files) or a scan error (scan_err: a stream that fails to
    parse after some globals were read); a raised exception is an error. "Suspicious" globals (neither on
    its deny list nor its allow list) do not flag a file: picklescan itself does not fail on them.
  * fickling 0.1.x, through its Python API, in this process, dispatching as its own Hugging Face scanner does:
    a zip file (zipfile.is_zipfile: fickling's own format probe needs torch) goes to
    fickling.scan_zip_archive(path, graceful=True) (it scans members named .pkl, .pickle, .bin), anything else to fickling.scan_file(path, graceful=True) (every stacked pickle). Flagged
    when the worst severity is above LIKELY_SAFE, i.e. when fickling.is_likely_safe would say no; parse or
    analysis errors (reported by graceful mode) are errors. The extra row "fickling >= LIKELY_UNSAFE" counts
    the same runs at a stricter threshold, leaving out what fickling only calls SUSPICIOUS (its
    unused-variable heuristic fires on most calls, benign ones included).
  * pickletool, when --pickletool PATH is given or .build/release/pickletool exists (the column is left out
    otherwise, or when the binary does not answer `scan --json` yet). Each file is scanned by its own process,
    under the profile the manifest gives it (time includes process start):

        PATH scan --json --profile PROFILE FILE

    and, per profile, all its files by one process (the per-file time reported is that run's time divided by
    the number of files; the verdicts must agree with the single-file runs):

        PATH scan --json --profile PROFILE FILE...

    Expected interface: PROFILE is one of data, stdlib, numpy, torch; stdout is one JSON object
    {"files": [{"path": FILE as given, "verdict": "safe" | "suspicious" | "dangerous" | "error", ...}, ...]};
    the exit status is 0 when every file is safe, 1 when any has findings, 2 on an error. A file counts as
    flagged when its verdict is anything but "safe"; "error" (or no entry for the file) counts as an error.

  * PickleScanner in process, when --scan-compare PATH is given or .build-bench/release/ScanCompare exists
    (swift build -c release --package-path Benchmarks --scratch-path .build-bench --product ScanCompare): the
    library pickletool runs, timed inside one process per profile, each file scanned from its path (mapping
    included), as the Python tools are timed in this process.

Errors count as flagged for every tool (a scanner that cannot read a file must not pass it), and are shown
in their own column.
"""
import argparse, collections, importlib, importlib.metadata, json, logging, os, statistics, subprocess, sys, tempfile, time, zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS_SCRIPT = os.path.join(ROOT, 'Tests', 'Fixtures', 'scan_corpus.py')
DEFAULT_PICKLETOOL = os.path.join(ROOT, '.build', 'release', 'pickletool')
DEFAULT_SCAN_COMPARE = os.path.join(ROOT, '.build-bench', 'release', 'ScanCompare')

# status: 'flagged' | 'clean' | 'error'; level: fickling's worst severity, for its stricter row
Verdict = collections.namedtuple('Verdict', 'status detail level', defaults=(None,))


def ensure_installed(module, package):
    try:
        importlib.import_module(module)
    except ImportError:
        print(f'installing {package} ...', file=sys.stderr)
        subprocess.run([sys.executable, '-m', 'pip', 'install', '--quiet', package], check=True)
        importlib.invalidate_caches()


def generate_corpus(directory):
    subprocess.run([sys.executable, CORPUS_SCRIPT, directory], check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(directory, 'manifest.json')) as f:
        return json.load(f)


def best_of(rounds, scan, path):
    """scan(path)'s verdict (an exception becomes an error verdict) and its best wall time over rounds runs."""
    best = None
    for _ in range(rounds):
        start = time.perf_counter()
        try:
            verdict = scan(path)
        except Exception as error:  # a crash is the tool's answer too
            verdict = Verdict('error', f'{type(error).__name__}: {error}')
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return verdict, best


# ---------------------------------------------------------------------------------------------------------
# Adapters


def picklescan_scanner():
    from picklescan import scanner
    logging.getLogger('picklescan').setLevel(logging.CRITICAL + 1)  # it logs every finding to stderr

    def scan(path):
        result = scanner.scan_file_path(path)
        dangerous = sorted({f'{g.module}.{g.name}' for g in result.globals if g.safety == scanner.SafetyLevel.Dangerous})
        if result.scan_err:
            return Verdict('error', 'scan error; dangerous: ' + ', '.join(dangerous))
        if result.issues_count or result.infected_files:
            return Verdict('flagged', ', '.join(dangerous))
        suspicious = sorted({f'{g.module}.{g.name}' for g in result.globals if g.safety == scanner.SafetyLevel.Suspicious})
        return Verdict('clean', 'suspicious: ' + ', '.join(suspicious) if suspicious else '')

    return scan


def fickling_scanner():
    import fickling
    from fickling.analysis import Severity

    def scan(path):
        if zipfile.is_zipfile(path):
            results = list(fickling.scan_zip_archive(path, graceful=True).values())
        else:
            results = [fickling.scan_file(path, graceful=True)]
        severity = max((r.severity for r in results), default=Severity.LIKELY_SAFE)
        errors = [e for r in results for e in r.errors]
        detail = severity.name + ''.join('; ' + e for e in errors)
        if errors:
            return Verdict('error', detail, severity.name)
        return Verdict('flagged' if severity > Severity.LIKELY_SAFE else 'clean', detail, severity.name)

    return scan


def fickling_strict(result):
    """A fickling result at the LIKELY_UNSAFE threshold: errors stay errors, findings below it are dropped."""
    if result['verdict'] == 'error':
        return result
    flagged = result['level'] not in ('LIKELY_SAFE', 'POSSIBLY_UNSAFE', 'SUSPICIOUS')
    return dict(result, verdict='flagged' if flagged else 'clean')


PICKLETOOL_STATUS = {'safe': 'clean', 'suspicious': 'flagged', 'dangerous': 'flagged', 'error': 'error'}


def pickletool_run(tool, profile, paths):
    """{path: Verdict} of one `pickletool scan --json` process over paths, or None when its stdout is not the
    expected JSON (a binary without the scan command)."""
    proc = subprocess.run([tool, 'scan', '--json', '--profile', profile, *paths], capture_output=True, text=True)
    try:
        files = json.loads(proc.stdout)['files']
        by_path = {entry['path']: entry.get('verdict') for entry in files}
    except (ValueError, KeyError, TypeError):
        return None
    verdicts = {}
    for path in paths:
        verdict = by_path.get(path)
        status = PICKLETOOL_STATUS.get(verdict, 'error')
        detail = f'verdict {verdict}' if verdict is not None else 'no entry for the file'
        expected_exit = 2 if 'error' in by_path.values() else 1 if any(v != 'safe' for v in by_path.values()) else 0
        if proc.returncode != expected_exit:
            detail += f'; exit status {proc.returncode}, expected {expected_exit}'
        verdicts[path] = Verdict(status, detail)
    return verdicts


def pickletool_scanner(tool, profiles):
    def scan(path):
        verdicts = pickletool_run(tool, profiles[path], [path])
        return verdicts[path] if verdicts else Verdict('error', 'no JSON on stdout')

    return scan


def library_results(binary, manifest, paths, rounds):
    """PickleScanner in its own process but timed inside it, as picklescan and fickling are timed in this one:
    {name: result}, or None when the binary fails."""
    groups = collections.defaultdict(list)
    for entry in manifest:
        groups[entry['profile']].append(entry['file'])
    results = {}
    for profile, names in groups.items():
        run = subprocess.run([binary, '--profile', profile, '--rounds', str(rounds)] + [paths[n] for n in names],
                             capture_output=True, text=True)
        if run.returncode != 0:
            print(f'warning: {binary} failed: {run.stderr.strip()}', file=sys.stderr)
            return None
        timed = json.loads(run.stdout)
        for name in names:
            verdict = timed[paths[name]]['verdict']
            results[name] = {'verdict': 'clean' if verdict == 'safe' else ('error' if verdict == 'error' else 'flagged'),
                             'detail': verdict, 'seconds': timed[paths[name]]['best_ns'] / 1e9}
    return collections.OrderedDict((name, results[name]) for name in paths)


def pickletool_batches(tool, manifest, paths, rounds):
    """Per profile: one process over all its files, best of rounds. Returns ({path: Verdict}, {path: seconds})."""
    groups = collections.defaultdict(list)
    for entry in manifest:
        groups[entry['profile']].append(paths[entry['file']])
    verdicts, seconds = {}, {}
    for profile, group in groups.items():
        best = None
        for _ in range(rounds):
            start = time.perf_counter()
            result = pickletool_run(tool, profile, group)
            elapsed = time.perf_counter() - start
            best = elapsed if best is None else min(best, elapsed)
        for path in group:
            verdicts[path] = result[path] if result else Verdict('error', 'no JSON on stdout')
            seconds[path] = best / len(group)
    return verdicts, seconds


# ---------------------------------------------------------------------------------------------------------
# Report


def ms(seconds):
    return f'{seconds * 1000:.2f} ms' if seconds < 1 else f'{seconds:.2f} s'


def summary_rows(manifest, results):
    rows = ['| tool | malicious caught | detection rate | benign flagged | false-positive rate | errors | median / file | total |',
            '|---|---:|---:|---:|---:|---:|---:|---:|']
    malicious = [e['file'] for e in manifest if e['kind'] == 'malicious']
    benign = [e['file'] for e in manifest if e['kind'] == 'benign']
    for tool, per_file in results.items():
        caught = sum(per_file[f]['verdict'] != 'clean' for f in malicious)
        flagged = sum(per_file[f]['verdict'] != 'clean' for f in benign)
        errors = sum(r['verdict'] == 'error' for r in per_file.values())
        times = [r['seconds'] for r in per_file.values()]
        rows.append(f'| {tool} | {caught}/{len(malicious)} | {100 * caught / len(malicious):.1f}% | {flagged}/{len(benign)} | '
                    f'{100 * flagged / len(benign):.1f}% | {errors} | {ms(statistics.median(times))} | {ms(sum(times))} |')
    return rows


def family_rows(manifest, results, kind):
    families = collections.OrderedDict()
    for entry in manifest:
        if entry['kind'] == kind:
            families.setdefault(entry['family'], []).append(entry)
    word = 'caught' if kind == 'malicious' else 'flagged'
    rows = ['| family | files | containers | ' + ' | '.join(f'{tool} {word}' for tool in results) + ' |',
            '|---|---:|---|' + '---:|' * len(results)]
    for family, entries in families.items():
        cells = []
        for per_file in results.values():
            hits = sum(per_file[e['file']]['verdict'] != 'clean' for e in entries)
            mark = '' if hits in (0, len(entries)) else ' (partly)'
            cells.append(f'{hits}/{len(entries)}{mark}')
        containers = ', '.join(sorted({e['container'] for e in entries}))
        rows.append(f'| {family} | {len(entries)} | {containers} | ' + ' | '.join(cells) + ' |')
    return rows


def missed_rows(manifest, results):
    rows = []
    for tool, per_file in results.items():
        missed = [e for e in manifest if e['kind'] == 'malicious' and per_file[e['file']]['verdict'] == 'clean']
        rows.append(f'- **{tool}** ({len(missed)}): ' + (', '.join(f'`{e["file"]}`' for e in missed) or 'none'))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--pickletool', help='the pickletool binary (default: .build/release/pickletool when it exists)')
    parser.add_argument('--scan-compare', help='the ScanCompare binary, PickleScanner timed in process (default: '
                        '.build-bench/release/ScanCompare when it exists)')
    parser.add_argument('--rounds', type=int, default=3, help='runs per file; the best time counts (default 3)')
    parser.add_argument('--json', metavar='OUT', help='write the raw results here')
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error('--rounds must be at least 1')

    ensure_installed('picklescan', 'picklescan')
    ensure_installed('fickling', 'fickling')

    tool_path = args.pickletool or (DEFAULT_PICKLETOOL if os.path.exists(DEFAULT_PICKLETOOL) else None)
    if tool_path and not os.path.exists(tool_path):
        print(f'warning: {tool_path} does not exist: the pickletool column is left out', file=sys.stderr)
        tool_path = None

    with tempfile.TemporaryDirectory(prefix='scan-corpus-') as directory:
        manifest = generate_corpus(directory)
        paths = {e['file']: os.path.join(directory, e['file']) for e in manifest}
        profiles = {paths[e['file']]: e['profile'] for e in manifest}

        scanners = {f'picklescan {importlib.metadata.version("picklescan")}': picklescan_scanner(),
                    f'fickling {importlib.metadata.version("fickling")}': fickling_scanner()}
        if tool_path:
            first = next(iter(paths.values()))
            if pickletool_run(tool_path, profiles[first], [first]) is None:
                print(f'warning: {tool_path} does not answer `scan --json` yet: the pickletool column is left out', file=sys.stderr)
                tool_path = None
            else:
                scanners['pickletool'] = pickletool_scanner(tool_path, profiles)

        results = collections.OrderedDict()
        for tool, scan in scanners.items():
            scan(next(iter(paths.values())))  # imports and caches outside the timings
            per_file = results[tool] = collections.OrderedDict()
            for name, path in paths.items():
                verdict, seconds = best_of(args.rounds, scan, path)
                per_file[name] = {'verdict': verdict.status, 'detail': verdict.detail, 'seconds': seconds}
                if verdict.level:
                    per_file[name]['level'] = verdict.level
            if tool.startswith('fickling'):
                results[f'{tool} >= LIKELY_UNSAFE'] = collections.OrderedDict((name, fickling_strict(r)) for name, r in per_file.items())

        disagreements = []
        if tool_path:
            batch_verdicts, batch_seconds = pickletool_batches(tool_path, manifest, paths, args.rounds)
            results['pickletool (one process per profile)'] = collections.OrderedDict(
                (name, {'verdict': batch_verdicts[path].status, 'detail': batch_verdicts[path].detail, 'seconds': batch_seconds[path]})
                for name, path in paths.items())
            disagreements = [name for name in paths if results['pickletool'][name]['verdict'] != results['pickletool (one process per profile)'][name]['verdict']]
        library = args.scan_compare or (DEFAULT_SCAN_COMPARE if os.path.exists(DEFAULT_SCAN_COMPARE) else None)
        if library:
            timed = library_results(library, manifest, paths, args.rounds)
            if timed:
                results['PickleScanner (library, in process)'] = timed

    kinds = collections.Counter(e['kind'] for e in manifest)
    lines = [f'## Pickle scanners on the scan corpus ({kinds["malicious"]} malicious, {kinds["benign"]} benign files)', '',
             f'Best of {args.rounds} runs per file. picklescan and fickling run in this process (imports excluded); '
             'pickletool runs one process per file (start-up included), and one per profile in its batch row; '
             'PickleScanner, the library pickletool runs, is timed in its process as the Python tools are in theirs '
             '(file mapping included). Errors count as flagged.', '']
    lines += summary_rows(manifest, results)
    lines += ['', '### Malicious families', ''] + family_rows(manifest, results, 'malicious')
    lines += ['', '### Benign families (false positives)', ''] + family_rows(manifest, results, 'benign')
    lines += ['', '### Malicious files missed', ''] + missed_rows(manifest, results)
    if disagreements:
        lines += ['', 'pickletool\'s batch and single-file verdicts differ on: ' + ', '.join(f'`{n}`' for n in disagreements)]
    print('\n'.join(lines))

    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'rounds': args.rounds, 'manifest': manifest, 'results': results}, f, indent=1)
            f.write('\n')


if __name__ == '__main__':
    main()
