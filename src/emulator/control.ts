import {existsSync} from 'node:fs'
import {request} from 'node:https'
import {join} from 'node:path'

import {loadProfileFile} from '../lib/azure/clouds.js'
import {NotFoundError} from '../lib/errors.js'

/** `hcctl emulator status` and `stop`: find the emulator of a state directory and talk to it. */

export interface EmulatorStatus {
  running: boolean
  stateDir: string
  armUrl?: string
  relaySuffix?: string
  pid?: number
  inMemory?: boolean
  /** Why it is not running, when it is not. */
  reason?: string
}

interface Info {
  armUrl: string
  relaySuffix: string
  pid: number
  inMemory: boolean
}

function getInfo(armUrl: string, ca: string | undefined, timeoutMs: number): Promise<Info> {
  return new Promise((resolve, reject) => {
    const req = request(`${armUrl}/emulator/info`, {ca, timeout: timeoutMs}, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (text += d))
      res.on('end', () => {
        try {
          if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`)
          resolve(JSON.parse(text) as Info)
        } catch (error) {
          reject(error)
        }
      })
    })
    req.on('timeout', () => req.destroy(new Error('timed out')))
    req.on('error', reject)
    req.end()
  })
}

export async function emulatorStatus(stateDir: string, timeoutMs = 2000): Promise<EmulatorStatus> {
  const file = join(stateDir, 'profile.json')
  if (!existsSync(file)) return {running: false, stateDir, reason: `no profile.json in ${stateDir} (never started here)`}
  const profile = loadProfileFile(file, 'emulator')
  try {
    const info = await getInfo(profile.armEndpoint, profile.ca, timeoutMs)
    return {running: true, stateDir, armUrl: info.armUrl, relaySuffix: info.relaySuffix, pid: info.pid, inMemory: info.inMemory}
  } catch (error) {
    return {running: false, stateDir, armUrl: profile.armEndpoint, reason: `${profile.armEndpoint} does not answer (${(error as Error).message})`}
  }
}

/** Sends SIGTERM to the running emulator of `stateDir` and waits until it is gone. */
export async function stopEmulatorAt(stateDir: string, options: {timeoutMs?: number; signal?: AbortSignal} = {}): Promise<{stopped: true; pid: number; armUrl: string}> {
  const status = await emulatorStatus(stateDir)
  if (!status.running || !status.pid) {
    throw new NotFoundError(`No emulator is running for ${stateDir}: ${status.reason ?? 'it did not say its process id'}.`, {
      code: 'EmulatorNotRunning',
      suggestions: ['Start one with `hcctl emulator start`, or point --state / HCCTL_EMULATOR_STATE at the one you started.'],
    })
  }
  process.kill(status.pid, 'SIGTERM')
  const deadline = Date.now() + (options.timeoutMs ?? 10_000)
  while (Date.now() < deadline && !options.signal?.aborted) {
    try {
      process.kill(status.pid, 0)
    } catch {
      return {stopped: true, pid: status.pid, armUrl: status.armUrl!}
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new NotFoundError(`The emulator (pid ${status.pid}) did not stop within ${Math.round((options.timeoutMs ?? 10_000) / 1000)} s.`, {code: 'EmulatorStopTimeout'})
}

