; Inno Setup script for Classifier Studio (Windows installer).
; Built by packaging/windows/build_windows.ps1, which passes /DAppVersion=<version>:
;   iscc /DAppVersion=0.1.0 packaging\windows\classifier_studio.iss
; Input: dist\classifier-studio\ (PyInstaller onedir). Output: dist\classifier-studio-<version>-windows-x64-setup.exe

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#define AppName "Classifier Studio"
#define AppExe "classifier-studio.exe"

[Setup]
AppId={{6E0C3C1B-4D2B-4F8A-9C55-2C1F0B7E9A11}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=Classifier Studio
DefaultDirName={autopf}\Classifier Studio
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
OutputDir=..\..\dist
OutputBaseFilename=classifier-studio-{#AppVersion}-windows-x64-setup
Compression=lzma2/max
SolidCompression=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
PrivilegesRequiredOverridesAllowed=dialog
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName} {#AppVersion}
WizardStyle=modern

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "..\..\dist\classifier-studio\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{group}\Uninstall {#AppName}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
