import Table from 'cli-table3'

export interface Column<Row> {
  header: string
  get: (row: Row) => string | number | boolean | undefined | null
}

/** Renders rows as a borderless table for people. Plain text, no colour codes in cells. */
export function renderTable<Row>(rows: Row[], columns: Array<Column<Row>>): string {
  const table = new Table({
    head: columns.map((c) => c.header),
    style: {head: [], border: [], 'padding-left': 0, 'padding-right': 2},
    chars: {
      top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
      bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
      left: '', 'left-mid': '', mid: '', 'mid-mid': '',
      right: '', 'right-mid': '', middle: '',
    },
  })
  for (const row of rows) table.push(columns.map((c) => String(c.get(row) ?? '')))
  return table
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
}
